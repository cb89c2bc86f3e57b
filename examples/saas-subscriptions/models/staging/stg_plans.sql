select plan_id, plan_name, monthly_price_cents, seats
from {{ ref('plans') }}
