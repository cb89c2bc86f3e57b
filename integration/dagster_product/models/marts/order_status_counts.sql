-- Reads no payments: it must still materialize when stg_payments' check fails.
select status, count(*) as order_count
from {{ ref('stg_orders') }}
group by status
