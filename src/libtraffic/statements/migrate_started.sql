-- Whether any migration ran: schema_migrations exists.
SELECT to_regclass('schema_migrations') IS NOT NULL AS yes
