-- The MRR by plan adds up to the MRR of the active subscriptions (no row means it does).
select total.mrr, by_plan.mrr
from (select coalesce(sum(mrr_dollars), 0) as mrr from {{ ref('fct_subscriptions') }}
      where status = 'active') as total
cross join (select coalesce(sum(mrr_dollars), 0) as mrr from {{ ref('mart_mrr_by_plan') }}) as by_plan
where total.mrr <> by_plan.mrr
