{# The history of each customer's plan and status (type-2 slowly changing dimension). #}
{% snapshot subscriptions_snapshot %}
{{
    config(
        target_schema=target.schema ~ '_snapshots',
        unique_key='customer_id',
        strategy='check',
        check_cols=['plan_id', 'status'],
    )
}}
select customer_id, plan_id, status, mrr_dollars from {{ ref('fct_subscriptions') }}
{% endsnapshot %}
