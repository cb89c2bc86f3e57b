select
    users.user_id,
    users.user_name,
    users.nationality,
    count(purchases.purchase_id) as purchases,
    count(*) filter (where purchases.is_returned) as returns,
    coalesce(sum(products.price) filter (where not purchases.is_returned), 0) as revenue
from {{ ref('stg_users') }} as users
left join {{ ref('stg_purchases') }} as purchases on purchases.user_id = users.user_id
left join {{ ref('stg_products') }} as products on products.product_id = purchases.product_id
group by 1, 2, 3
