select
    id as purchase_id,
    user_id,
    product_id,
    cast(purchased_at as date) as purchased_on,
    returned_at is not null as is_returned
from {{ source('shop', 'purchases') }}
where purchased_at is not null
