select
    cast(product_id as integer) as product_id,
    trim(name) as product_name,
    lower(category) as category,
    cast(unit_price as decimal(10, 2)) as unit_price
from {{ source('raw', 'products') }}
