-- Monthly recurring revenue by plan, from the customers' current subscriptions.
select
    plans.plan_id,
    plans.plan_name,
    count(subscriptions.customer_id) filter (where subscriptions.status = 'active')
        as active_customers,
    coalesce(sum(subscriptions.mrr_dollars), 0) as mrr_dollars
from {{ ref('stg_plans') }} as plans
left join {{ ref('fct_subscriptions') }} as subscriptions using (plan_id)
group by plans.plan_id, plans.plan_name
