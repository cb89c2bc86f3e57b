select
    event_id,
    customer_id,
    lower(plan_id) as plan_id,
    event_type,
    occurred_at
from {{ source('landing', 'subscription_events') }}
