select
    id as product_id,
    make,
    model,
    year,
    cast(price as decimal(12, 2)) as price
from {{ source('shop', 'products') }}
