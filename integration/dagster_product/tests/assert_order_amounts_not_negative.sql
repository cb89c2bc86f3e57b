-- Singular test on one model: it becomes an asset check of orders.
select order_id, amount
from {{ ref('orders') }}
where amount < 0
