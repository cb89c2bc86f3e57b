select
    order_date,
    count(*) as orders,
    sum(units) as units,
    sum(order_total) as revenue
from {{ ref('fct_orders') }}
where status = 'completed'
group by order_date
