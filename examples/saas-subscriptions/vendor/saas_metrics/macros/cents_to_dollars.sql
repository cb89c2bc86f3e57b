{# Money is stored in cents; marts report dollars with two decimals. #}
{% macro cents_to_dollars(column) -%}
    round(({{ column }})::numeric / 100, 2)
{%- endmacro %}
