select
    cast(order_id as bigint) as order_id,
    cast(line_number as integer) as line_number,
    cast(product_id as integer) as product_id,
    cast(quantity as integer) as quantity
from {{ source('raw', 'order_items') }}
