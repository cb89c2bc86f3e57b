select
    p.product_id,
    p.product_name,
    p.category,
    sum(i.quantity) as units_sold,
    sum(i.quantity * p.unit_price) as revenue
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_orders') }} as o using (order_id)
join {{ ref('stg_products') }} as p using (product_id)
where o.status = 'completed'
group by all
