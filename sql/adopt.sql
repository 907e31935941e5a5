-- adopt.sql: takes over the tables the old Node.js handler left (both of
-- their shapes, PREDECESSOR.md), so that the numbered migrations can run.
-- Run by traffic-ctl adopt, in one transaction (--dry-run rolls it back),
-- under the migrations' lock; every step says what it did in a line of
-- adopt_log, which traffic-ctl prints as the plan.  Each step looks at
-- the table as it is, so a second run finds nothing to do.
--
-- Nothing is lost: every old row is either in its table afterwards
-- (converted), or in adopt_quarantine with the reason (a second row of a
-- lead, a lead id that is not a number, no lead id at all).  A value
-- converted away (an id of text that is not a number, a status outside
-- ours) leaves a copy of its original row there too.  The old handler's
-- own columns stay where they are, its uuid ids as legacy_id.  Views over
-- the tables are made again from their definitions (kept in adopt_views).

CREATE TABLE IF NOT EXISTS adopt_quarantine (
    id              bigserial PRIMARY KEY,
    source_table    text NOT NULL,
    original        jsonb NOT NULL,
    reason          text NOT NULL,
    kept            boolean NOT NULL DEFAULT false,  -- the row is in its table too
    quarantined_at  timestamptz NOT NULL DEFAULT now()
);

-- What each step did, one line each (kept: the record of the adoption),
-- read by traffic-ctl adopt before it commits (or, for --dry-run, rolls
-- back).  Migration 015 makes it too, so every schema has it.
CREATE TABLE IF NOT EXISTS adopt_log (
    id      bigserial PRIMARY KEY,
    run_at  timestamptz NOT NULL DEFAULT now(),
    line    text NOT NULL
);

CREATE OR REPLACE FUNCTION pg_temp.adopt_say(line text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO adopt_log (line) VALUES (line)
$$;

CREATE TABLE IF NOT EXISTS adopt_views (
    name        text PRIMARY KEY,
    definition  text NOT NULL,
    grants      text[] NOT NULL DEFAULT '{}',
    depth       integer NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now()
);

-- The type of a column as format_type says it, NULL when it is missing.
CREATE OR REPLACE FUNCTION pg_temp.adopt_type(t text, c text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
    WHERE a.attrelid = to_regclass(t) AND a.attname = c AND a.attnum > 0
      AND NOT a.attisdropped
$$;

-- The views over the three tables (and over those views), kept and
-- dropped, deepest first: a column's type cannot change under a view.
DO $$
DECLARE
    v record;
BEGIN
    -- only when a column's type is to change
    IF pg_temp.adopt_type('sales_notifications', 'id')
           IS NOT DISTINCT FROM 'bigint'
       AND pg_temp.adopt_type('all_sales_tracking', 'id')
           IS NOT DISTINCT FROM 'bigint'
       AND pg_temp.adopt_type('all_sales_tracking', 'lead_id')
           IS NOT DISTINCT FROM 'bigint'
       AND pg_temp.adopt_type('all_sales_tracking', 'pipeline_id')
           IS NOT DISTINCT FROM 'bigint'
       AND pg_temp.adopt_type('all_sales_tracking', 'status_id')
           IS NOT DISTINCT FROM 'bigint'
       AND pg_temp.adopt_type('all_sales_tracking', 'responsible_user_id')
           IS NOT DISTINCT FROM 'bigint'
       AND pg_temp.adopt_type('sales_notifications', 'sale_amount')
           IS NOT DISTINCT FROM 'numeric(15,2)'
       AND pg_temp.adopt_type('all_sales_tracking', 'sale_amount')
           IS NOT DISTINCT FROM 'numeric(15,2)'
       AND pg_temp.adopt_type('webhook_logs', 'lead_id')
           IS NOT DISTINCT FROM 'bigint' THEN
        RETURN;
    END IF;
    FOR v IN
        WITH RECURSIVE dep(oid, depth) AS (
            SELECT DISTINCT r.ev_class, 1
            FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
            WHERE d.refobjid IN (SELECT to_regclass(t) FROM unnest(ARRAY[
                  'sales_notifications', 'all_sales_tracking',
                  'webhook_logs']) t)
              AND r.ev_class <> d.refobjid
            UNION
            SELECT r.ev_class, dep.depth + 1
            FROM dep JOIN pg_depend d ON d.refobjid = dep.oid
            JOIN pg_rewrite r ON r.oid = d.objid
            WHERE r.ev_class <> d.refobjid AND dep.depth < 10
        )
        SELECT c.oid::regclass::text AS name, pg_get_viewdef(c.oid) AS def,
               max(dep.depth) AS depth,
               coalesce((SELECT array_agg(format('GRANT %s ON %s TO %s',
                   x.privilege_type, c.oid::regclass,
                   CASE WHEN x.grantee = 0 THEN 'PUBLIC'
                        ELSE quote_ident(pg_get_userbyid(x.grantee)) END))
                   FROM aclexplode(c.relacl) x
                   WHERE x.grantee <> c.relowner), '{}') AS grants
        FROM dep JOIN pg_class c ON c.oid = dep.oid AND c.relkind = 'v'
        GROUP BY c.oid ORDER BY max(dep.depth) DESC
    LOOP
        INSERT INTO adopt_views (name, definition, grants, depth)
        VALUES (v.name, v.def, v.grants, v.depth)
        ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition,
            grants = EXCLUDED.grants, depth = EXCLUDED.depth,
            saved_at = now();
        EXECUTE format('DROP VIEW %s', v.name);
        PERFORM pg_temp.adopt_say(format('view %s: kept aside, made again at the end', v.name));
    END LOOP;
END
$$;

-- sales_notifications and all_sales_tracking: a bigint id (the uuid kept
-- as legacy_id), lead_id a number, one row per lead.
DO $$
DECLARE
    t text;
    k text;
    n bigint;
BEGIN
    FOREACH t IN ARRAY ARRAY['sales_notifications', 'all_sales_tracking'] LOOP
        CONTINUE WHEN to_regclass(t) IS NULL;
        IF pg_temp.adopt_type(t, 'id') IS DISTINCT FROM 'bigint' THEN
            SELECT conname INTO k FROM pg_constraint
            WHERE conrelid = to_regclass(t) AND contype = 'p';
            IF k IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', t, k);
            END IF;
            IF pg_temp.adopt_type(t, 'id') IS NOT NULL THEN
                EXECUTE format('ALTER TABLE %I RENAME COLUMN id TO legacy_id',
                               t);
            END IF;
            EXECUTE format('ALTER TABLE %I ADD COLUMN id bigserial PRIMARY KEY',
                           t);
            PERFORM pg_temp.adopt_say(format('%s: the old id kept as legacy_id, a bigint id '
                'given to every row', t));
        END IF;
        EXECUTE format('WITH q AS (DELETE FROM %I WHERE lead_id IS NULL OR '
            'lead_id::text !~ ''^[0-9]{1,18}$'' OR lead_id::text ~ ''^0+$'' '
            'RETURNING *) INSERT INTO adopt_quarantine (source_table, '
            'original, reason) SELECT %L, to_jsonb(q), CASE WHEN '
            'q.lead_id IS NULL THEN ''no lead id'' ELSE format(''lead id '
            '"%%s" is not a number'', q.lead_id) END FROM q', t, t);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM pg_temp.adopt_say(format('%s: %s rows without a lead id that is a number '
                'moved to adopt_quarantine', t, n));
        END IF;
        EXECUTE format('WITH ranked AS (SELECT id, row_number() OVER (PARTITION '
            'BY lead_id::text::bigint ORDER BY created_at NULLS LAST, id) AS '
            'r, first_value(id) OVER (PARTITION BY lead_id::text::bigint '
            'ORDER BY created_at NULLS LAST, id) AS first FROM %I), q AS ('
            'DELETE FROM %I x USING ranked WHERE x.id = ranked.id AND '
            'ranked.r > 1 RETURNING x.*, ranked.first) INSERT INTO '
            'adopt_quarantine (source_table, original, reason) SELECT %L, '
            'to_jsonb(q) - ''first'', format(''a second row of lead %%s (the '
            'first, id %%s, stays)'', q.lead_id, q.first) FROM q', t, t, t);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM pg_temp.adopt_say(format('%s: %s later rows of leads stored twice moved '
                'to adopt_quarantine (the first row of each stays)', t, n));
        END IF;
        IF pg_temp.adopt_type(t, 'lead_id') <> 'bigint' THEN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN lead_id TYPE bigint '
                'USING lead_id::text::bigint', t);
            PERFORM pg_temp.adopt_say(format('%s: lead_id made a bigint', t));
        END IF;
        EXECUTE format('ALTER TABLE %I ALTER COLUMN lead_id SET NOT NULL', t);
        IF NOT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a
                ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                WHERE i.indrelid = to_regclass(t) AND i.indisunique
                  AND i.indnatts = 1 AND a.attname = 'lead_id'
                  AND i.indpred IS NULL) THEN
            EXECUTE format('CREATE UNIQUE INDEX %I ON %I (lead_id)',
                           t || '_lead_id_key', t);
            PERFORM pg_temp.adopt_say(format('%s: a unique index on lead_id', t));
        END IF;
    END LOOP;
END
$$;

-- The sales tables' other columns: ids of text made numbers, the amount
-- may be unknown (NULL) and as large as ours, what we write added.
DO $$
DECLARE
    t text;
    c text;
    n bigint;
BEGIN
    FOREACH t IN ARRAY ARRAY['sales_notifications', 'all_sales_tracking'] LOOP
        CONTINUE WHEN to_regclass(t) IS NULL;
        FOREACH c IN ARRAY ARRAY['pipeline_id', 'status_id',
                                 'responsible_user_id'] LOOP
            IF pg_temp.adopt_type(t, c) IS NULL THEN
                EXECUTE format('ALTER TABLE %I ADD COLUMN %I bigint', t, c);
            ELSIF pg_temp.adopt_type(t, c) <> 'bigint' THEN
                EXECUTE format('INSERT INTO adopt_quarantine (source_table, '
                    'original, reason, kept) SELECT %L, to_jsonb(x), format('
                    '''%s "%%s" is not a number: NULL in the table'', x.%I), '
                    'true FROM %I x WHERE x.%I IS NOT NULL AND x.%I::text !~ '
                    '''^[0-9]{1,18}$''', t, c, c, t, c, c);
                GET DIAGNOSTICS n = ROW_COUNT;
                EXECUTE format('ALTER TABLE %I ALTER COLUMN %I TYPE bigint '
                    'USING CASE WHEN %I::text ~ ''^[0-9]{1,18}$'' THEN '
                    '%I::text::bigint END', t, c, c, c);
                PERFORM pg_temp.adopt_say(format('%s: %s made a bigint%s', t,
                    c, CASE WHEN n > 0 THEN format(' (%s values that are not '
                    'numbers now NULL, their rows copied to adopt_quarantine)',
                    n) ELSE '' END));
            END IF;
        END LOOP;
        EXECUTE format('WITH q AS (DELETE FROM %I WHERE abs(sale_amount) >= '
            '1e13 RETURNING *) INSERT INTO adopt_quarantine (source_table, '
            'original, reason) SELECT %L, to_jsonb(q), ''sale_amount beyond '
            '13 digits'' FROM q', t, t);
        IF pg_temp.adopt_type(t, 'sale_amount') <> 'numeric(15,2)' THEN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN sale_amount TYPE '
                'numeric(15, 2)', t);
            PERFORM pg_temp.adopt_say(format('%s: sale_amount made numeric(15,2)', t));
        END IF;
        EXECUTE format('ALTER TABLE %I ALTER COLUMN sale_amount DROP NOT NULL',
                       t);
        EXECUTE format('ALTER TABLE %I ADD COLUMN IF NOT EXISTS contact_email '
            'text, ADD COLUMN IF NOT EXISTS currency text, ADD COLUMN IF NOT '
            'EXISTS utm_id text, ADD COLUMN IF NOT EXISTS raw_webhook_data '
            'jsonb, ADD COLUMN IF NOT EXISTS product_name text, ADD COLUMN '
            'IF NOT EXISTS created_at timestamptz, ADD COLUMN IF NOT EXISTS '
            'updated_at timestamptz', t);
        EXECUTE format('UPDATE %I SET currency = coalesce(currency, ''KZT''), '
            'targetologist = coalesce(nullif(targetologist, ''''), '
            '''Unknown''), created_at = coalesce(created_at, sale_date, '
            'now()), updated_at = coalesce(updated_at, created_at, sale_date, '
            'now()), sale_date = coalesce(sale_date, created_at, now()) WHERE '
            'currency IS NULL OR targetologist IS NULL OR targetologist = '''' '
            'OR created_at IS NULL OR updated_at IS NULL OR sale_date IS NULL',
            t);
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM pg_temp.adopt_say(format('%s: %s rows given what they lacked (currency '
                'KZT, targetologist Unknown, the dates from each other)', t, n));
        END IF;
        EXECUTE format('ALTER TABLE %I ALTER COLUMN currency SET DEFAULT '
            '''KZT'', ALTER COLUMN currency SET NOT NULL, ALTER COLUMN '
            'targetologist SET NOT NULL, ALTER COLUMN sale_date SET NOT NULL, '
            'ALTER COLUMN created_at SET DEFAULT now(), ALTER COLUMN '
            'created_at SET NOT NULL, ALTER COLUMN updated_at SET DEFAULT '
            'now(), ALTER COLUMN updated_at SET NOT NULL', t);
    END LOOP;
END
$$;

DO $$
DECLARE
    n bigint;
    g record;
BEGIN
    IF to_regclass('sales_notifications') IS NOT NULL THEN
        ALTER TABLE sales_notifications
            ADD COLUMN IF NOT EXISTS targetologist_emoji text,
            ADD COLUMN IF NOT EXISTS enriched boolean NOT NULL DEFAULT false,
            ADD COLUMN IF NOT EXISTS notified_at timestamptz,
            ADD COLUMN IF NOT EXISTS notification_status text;
        INSERT INTO adopt_quarantine (source_table, original, reason, kept)
        SELECT 'sales_notifications', to_jsonb(s), format('notification_status '
            '"%s": "sent" or "failed" in the table', s.notification_status),
            true
        FROM sales_notifications s WHERE s.notification_status IS NOT NULL
          AND s.notification_status NOT IN ('pending', 'sent', 'failed',
              'disabled', 'unconfirmed');
        UPDATE sales_notifications SET notification_status = CASE
            WHEN notified_at IS NOT NULL THEN 'sent' ELSE 'failed' END
        WHERE notification_status IS NULL OR notification_status NOT IN
            ('pending', 'sent', 'failed', 'disabled', 'unconfirmed');
        GET DIAGNOSTICS n = ROW_COUNT;
        IF n > 0 THEN
            PERFORM pg_temp.adopt_say(format('sales_notifications: %s notification_status '
                'values outside ours made sent or failed', n));
        END IF;
        ALTER TABLE sales_notifications
            ALTER COLUMN notification_status SET DEFAULT 'pending',
            ALTER COLUMN notification_status SET NOT NULL;
    END IF;
    IF to_regclass('all_sales_tracking') IS NOT NULL THEN
        ALTER TABLE all_sales_tracking
            ADD COLUMN IF NOT EXISTS webhook_received_at timestamptz,
            ADD COLUMN IF NOT EXISTS source text NOT NULL
                DEFAULT 'amocrm_traffic';
        UPDATE all_sales_tracking SET webhook_received_at = created_at
        WHERE webhook_received_at IS NULL;
        ALTER TABLE all_sales_tracking
            ALTER COLUMN webhook_received_at SET NOT NULL;
        -- a trigger that changes what we insert (the old handler's own
        -- attribution of "Unknown"): the dashboard's copy must be the sale's
        FOR g IN SELECT tgname FROM pg_trigger
                 WHERE tgrelid = 'all_sales_tracking'::regclass
                   AND NOT tgisinternal AND tgenabled <> 'D'
                   AND tgname NOT LIKE 'traffic\_%'
                   AND tgtype & 2 = 2 AND tgtype & 4 = 4 LOOP
            EXECUTE format('ALTER TABLE all_sales_tracking DISABLE TRIGGER %I',
                           g.tgname);
            PERFORM pg_temp.adopt_say(format('all_sales_tracking: trigger %s disabled (it '
                'rewrote the targetologist we store); its function stays',
                g.tgname));
        END LOOP;
    END IF;
END
$$;

-- webhook_logs: what we write added, its statuses ours ('partial' is an
-- error whose message says so), its times and source never NULL.
DO $$
DECLARE
    n bigint;
BEGIN
    IF to_regclass('webhook_logs') IS NULL THEN
        RETURN;
    END IF;
    ALTER TABLE webhook_logs
        ADD COLUMN IF NOT EXISTS event_type text,
        ADD COLUMN IF NOT EXISTS request_id text,
        ADD COLUMN IF NOT EXISTS targetologist text,
        ADD COLUMN IF NOT EXISTS skip_reason text,
        ADD COLUMN IF NOT EXISTS error_message text,
        ADD COLUMN IF NOT EXISTS raw_body text,
        ADD COLUMN IF NOT EXISTS routing_decision text,
        ADD COLUMN IF NOT EXISTS processing_status text,
        ADD COLUMN IF NOT EXISTS source text,
        ADD COLUMN IF NOT EXISTS processed_at timestamptz,
        ADD COLUMN IF NOT EXISTS created_at timestamptz;
    IF pg_temp.adopt_type('webhook_logs', 'lead_id') IS DISTINCT FROM
       'bigint' THEN
        INSERT INTO adopt_quarantine (source_table, original, reason, kept)
        SELECT 'webhook_logs', to_jsonb(w), format('lead_id "%s" is not a '
            'number: NULL in the table', w.lead_id), true
        FROM webhook_logs w WHERE w.lead_id IS NOT NULL
          AND w.lead_id::text !~ '^[0-9]{1,18}$';
        ALTER TABLE webhook_logs ALTER COLUMN lead_id TYPE bigint
            USING CASE WHEN lead_id::text ~ '^[0-9]{1,18}$'
                       THEN lead_id::text::bigint END;
        PERFORM pg_temp.adopt_say(format('webhook_logs: lead_id made a bigint'));
    END IF;
    UPDATE webhook_logs SET processing_status = 'error',
        error_message = format('%s (the old handler): %s',
            coalesce(processing_status, 'no status'),
            coalesce(error_message, ''))
    WHERE processing_status IS NULL OR processing_status NOT IN
        ('success', 'duplicate', 'skipped', 'ignored', 'error');
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
        PERFORM pg_temp.adopt_say(format('webhook_logs: %s rows of a status outside ours '
            '(partial) made error, the old status first in error_message', n));
    END IF;
    UPDATE webhook_logs SET source = coalesce(source, 'amocrm'),
        received_at = coalesce(received_at, processed_at, created_at, now()),
        created_at = coalesce(created_at, received_at, processed_at, now())
    WHERE source IS NULL OR received_at IS NULL OR created_at IS NULL;
    ALTER TABLE webhook_logs
        ALTER COLUMN source SET NOT NULL,
        ALTER COLUMN received_at SET DEFAULT now(),
        ALTER COLUMN received_at SET NOT NULL,
        ALTER COLUMN processing_status SET NOT NULL,
        ALTER COLUMN created_at SET DEFAULT now(),
        ALTER COLUMN created_at SET NOT NULL;
END
$$;

-- The views, made again in their order (a definition that no longer fits
-- stays in adopt_views, said).
DO $$
DECLARE
    v record;
    g text;
BEGIN
    FOR v IN SELECT * FROM adopt_views ORDER BY depth LOOP
        BEGIN
            EXECUTE format('CREATE VIEW %s AS %s', v.name, v.definition);
            FOREACH g IN ARRAY v.grants LOOP
                EXECUTE g;
            END LOOP;
            DELETE FROM adopt_views WHERE name = v.name;
        EXCEPTION WHEN others THEN
            PERFORM pg_temp.adopt_say(format('view %s not made again (%s): its definition '
                'is in adopt_views', v.name, SQLERRM));
        END;
    END LOOP;
END
$$;
