with lines as (
    select
        i.order_id,
        sum(i.quantity) as units,
        sum(i.quantity * p.unit_price) as order_total
    from {{ ref('stg_order_items') }} as i
    join {{ ref('stg_products') }} as p using (product_id)
    group by i.order_id
)
select
    o.order_id,
    o.customer_id,
    o.order_date,
    o.status,
    coalesce(l.units, 0) as units,
    coalesce(l.order_total, 0) as order_total
from {{ ref('stg_orders') }} as o
left join lines as l using (order_id)
