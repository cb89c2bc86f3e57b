select
    customer_id,
    company_name,
    upper(country) as country,
    signed_up_at,
    updated_at
from {{ source('landing', 'customers') }}
