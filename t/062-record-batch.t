# The outcome of a combined message recorded all at once
# (sql/functions/traffic_outbox_record_batch.sql) does what recording its rows one
# by one (sql/functions/traffic_outbox_record.sql) does, on the same rows: five
# sales stored through nginx and the pool, two chats each, their messages
# in chat A claimed as one combined message; a row purged while it was out,
# an edit and a reply waiting for two of them, an edit waiting in chat B
# (it stays held), and each sale's chat B message pending, sent, disabled,
# failed or sent.  Both are tried in a transaction that is rolled back, and
# what they leave is compared: every outbox row, every sale and the chats.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my ($a, $b) = ('-1006200000001', '-1006200000002');
my $envfile = write_env(TELEGRAM_BOT_TOKEN => '6200:BATCH-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => "$a,$b",
    RECONCILE_INTERVAL_S => 0, ALERT_CHECK_S => 3600);
start_pool(workers => 1, env_file => $envfile, sidecar => 0);
start_nginx();

my @leads = map { 62000000 + $_ } 1 .. 6;
for my $id (@leads) {
    my $r = post_form('/webhook/amocrm/traffic', lead_form(id => $id,
        status_id => 142, pipeline_id => 10418746, price => 1000 + $id % 100,
        utm_campaign => 'tripwire_batch'));
    is($r->{status}, 200, "sale $id stored");
}
is(psql("SELECT count(*) FROM notification_outbox WHERE status = 'pending'"
    . " AND kind = 'sale'"), 12, 'two messages a sale, none sent');

sub row { psql("SELECT id FROM notification_outbox WHERE lead_id = $_[0]"
    . " AND chat_id = '$_[1]' AND kind = '$_[2]'") }
my @batch = map { row($leads[$_], $a, 'sale') } 0 .. 4;
# the claim: leased, the chat held
psql("UPDATE notification_outbox SET lease_until = now() + interval"
    . " '1 minute', attempts = 1 WHERE id IN (" . join(',', @batch) . ")");
psql("INSERT INTO telegram_chats (chat_id) VALUES ('$a'), ('$b')"
    . " ON CONFLICT DO NOTHING");
psql("UPDATE telegram_chats SET next_at = now() + interval '1 minute'"
    . " WHERE chat_id = '$a'");
# what waits for the messages in flight, and in chat B
for ([1, $a, 'edit'], [2, $a, 'reply'], [2, $b, 'edit']) {
    my ($i, $chat, $kind) = @$_;
    psql("INSERT INTO notification_outbox (sale_id, lead_id, chat_id, kind,"
        . " reply_to, next_attempt_at) SELECT sale_id, lead_id, chat_id,"
        . " '$kind', id, 'infinity' FROM notification_outbox WHERE id = "
        . row($leads[$i], $chat, 'sale'));
}
# chat B: sale 1 pending, 2 sent, 3 disabled, 4 failed, 5 sent
for ([1, 'sent'], [2, 'disabled'], [3, 'failed'], [4, 'sent']) {
    my ($i, $st) = @$_;
    psql("UPDATE notification_outbox SET status = '$st', sent_at = CASE WHEN"
        . " '$st' = 'sent' THEN now() - interval '1 minute' END WHERE id = "
        . row($leads[$i], $b, 'sale'));
}
# a row purged while its message was out
splice(@batch, 3, 0, psql("SELECT max(id) + 1000 FROM notification_outbox"));

psql(<<'SQL');
CREATE FUNCTION t062_state() RETURNS text LANGUAGE sql AS $$
SELECT (SELECT string_agg(concat_ws(' ', id, kind, status, chat_id,
        lease_until IS NULL, coalesce(last_error, '-'),
        coalesce(telegram_message_id::text, '-'), coalesce(batch_id::text,
        '-'), CASE WHEN sent_at IS NULL THEN 'unsent' WHEN sent_at = now()
        THEN 'now' ELSE 'before' END, CASE WHEN next_attempt_at =
        'infinity' THEN 'held' WHEN next_attempt_at = now() THEN 'due'
        ELSE 'other' END, attempts), E'\n' ORDER BY id)
        FROM notification_outbox)
    || E'\n' || (SELECT string_agg(concat_ws(' ', lead_id,
        notification_status, CASE WHEN notified_at IS NULL THEN 'never'
        WHEN notified_at = now() THEN 'now' ELSE 'before' END,
        updated_at = now()), E'\n' ORDER BY id) FROM sales_notifications)
    || E'\n' || (SELECT string_agg(concat_ws(' ', chat_id, CASE WHEN
        next_at <= now() THEN 'free' ELSE 'held' END, cardinality(recent)),
        E'\n' ORDER BY chat_id) FROM telegram_chats)
$$;
CREATE FUNCTION t062_try(p_set boolean, p_ids bigint[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    v text;
    s text;
BEGIN
    BEGIN
        IF p_set THEN
            v := traffic_outbox_record_batch(p_ids, 'sent', 4242, NULL, 0,
                NULL, 1000, 20, 5, 86400);
        ELSE
            v := (SELECT (array_agg(traffic_outbox_record(u.id, 'sent', 4242,
                    NULL, 0, NULL, 1000, 20, 5, 86400, u.n = 1, p_ids[1])
                    ORDER BY u.n))[1]
                  FROM unnest(p_ids) WITH ORDINALITY AS u(id, n));
        END IF;
        s := coalesce(v, 'gone') || E'\n' || t062_state();
        RAISE EXCEPTION USING ERRCODE = 'P0062';
    EXCEPTION WHEN SQLSTATE 'P0062' THEN
        NULL;
    END;
    RETURN s;
END
$$;
SQL

my $ids = '{' . join(',', @batch) . '}';
my $before = psql('SELECT t062_state()');
my $rows = psql("SELECT t062_try(false, '$ids')");
my $set = psql("SELECT t062_try(true, '$ids')");
is(psql('SELECT t062_state()'), $before, 'both were rolled back');
isnt($rows, $before, 'recording one by one changes the rows');
is($set, $rows, 'all at once leaves what one by one does')
    or diag("one by one:\n$rows\nall at once:\n$set");

# What that is, spelled out.
my %line = map { (split / /)[0] => $_ } split /\n/, $set;
like($set, qr/\Asent\n/, 'the first row\'s status');
for my $id (grep { $line{$_} } @batch) {
    like($line{$id}, qr/^$id sale sent \Q$a\E t - 4242 $batch[0] now /,
        "row $id: sent, with the message and its batch");
}
my ($edit, $reply, $held) = map { psql("SELECT id FROM notification_outbox"
    . " WHERE kind = '$_->[0]' AND chat_id = '$_->[1]'") }
    ['edit', $a], ['reply', $a], ['edit', $b];
like($line{$edit}, qr/ pending .* due /, 'the waiting edit is due');
like($line{$reply}, qr/ pending .* due /, 'the waiting reply is due');
like($line{$held}, qr/ pending .* held /, 'the edit in chat B still waits');
my %sale = map { /^(\d+) (\w+ \w+)/ ? ($1 => $2) : () } split /\n/, $set;
is(join(',', map { $sale{$_} } @leads), 'pending never,sent now,sent now,'
    . 'failed never,sent now,pending never', 'each sale\'s status from all'
    . ' its messages');
like($set, qr/^\Q$a\E held 1$/m, 'chat A paced once');
done_testing();
