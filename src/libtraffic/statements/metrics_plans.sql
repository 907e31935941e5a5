-- GET /metrics: how this session's prepared statements were planned.
--   $1 their names (text[])
SELECT name, generic_plans, custom_plans FROM pg_prepared_statements
WHERE name = ANY ($1::text[])
