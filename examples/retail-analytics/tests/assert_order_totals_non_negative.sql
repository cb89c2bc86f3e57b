-- An order's total is never negative.
select order_id, order_total
from {{ ref('fct_orders') }}
where order_total < 0
