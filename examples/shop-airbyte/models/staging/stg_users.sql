select
    id as user_id,
    name as user_name,
    age,
    nationality,
    cast(created_at as date) as signed_up_on
from {{ source('shop', 'users') }}
