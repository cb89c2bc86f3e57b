-- One row per customer: the plan and status after their latest subscription event.
with latest as (
    select
        *,
        row_number() over (partition by customer_id order by occurred_at desc, event_id desc)
            as recency
    from {{ ref('stg_subscription_events') }}
)

select
    customers.customer_id,
    customers.company_name,
    customers.country,
    latest.plan_id,
    case when latest.event_type = 'cancel' then 'cancelled' else 'active' end as status,
    latest.occurred_at as status_since,
    case
        when latest.event_type = 'cancel' then 0
        else {{ saas_metrics.cents_to_dollars('plans.monthly_price_cents') }}
    end as mrr_dollars
from latest
join {{ ref('stg_customers') }} as customers using (customer_id)
join {{ ref('stg_plans') }} as plans using (plan_id)
where latest.recency = 1
