# Telegram delivery when Telegram says no: 429 waits exactly retry_after
# and sends once; permanent errors stop at once with Telegram's reason;
# "can't parse entities" is resent once as plain text; a migrated group gets
# the message in its new chat and the operator is told; retries end after
# TELEGRAM_MAX_ATTEMPTS; Telegram down for a while, then up: traffic-ctl
# deliver sends every pending message exactly once; a worker SIGKILLed while
# sending: the row goes out after its lease.
use strict;
use warnings;
use utf8;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

my $token = '654321:ERR-tok3n_never-logged';
my $chat = '-1003333333333';
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my %tg = (TELEGRAM_BOT_TOKEN => $token, TELEGRAM_CHAT_IDS => $chat,
    TELEGRAM_API_BASE => $api, TELEGRAM_TIMEOUT_MS => 1000,
    TELEGRAM_RETRY_BASE_MS => 300, TELEGRAM_CHAT_INTERVAL_MS => 0,
    TELEGRAM_MAX_ATTEMPTS => 3,
    TELEGRAM_BATCH_AFTER => 0);     # one message a sale (t/059 combines)
my $env = write_env(%tg);
# the journal's priorities on each line (<3> errors, <4> warnings)
start_pool(workers => 2, env_file => $env,
    env => { JOURNAL_STREAM => '8:1' });
start_nginx();

my $lead = 31000000;
sub sale {
    my $id = ++$lead;
    my $b = example('01-status-142-full.txt');
    $b =~ s/25123456/$id/g;
    my $r = http('POST', '/webhook/amocrm/traffic', $b,
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 200, "lead $id answered 200");
    return $id;
}
sub row {
    my ($id) = @_;
    return psql("SELECT status, attempts, coalesce(last_error, ''),"
        . " coalesce(chat_id, '') FROM notification_outbox WHERE lead_id = $id");
}
sub requests_since {
    my ($n) = @_;
    my @m = sent_messages();
    my @r = @m[$n .. $#m];
    return wantarray ? @r : scalar @r;
}

# 429 with retry_after 2: sent once more, not before 2 s.  The worker gets
# the 429; the retry is the sidecar's (started below for the rest).
start_deliver(env_file => $env, env => { JOURNAL_STREAM => '8:1' });
my $n0 = scalar(sent_messages());
fake_queue('sendMessage', { status => 429, body => { ok => JSON::PP::false,
    error_code => 429, description => 'Too Many Requests: retry after 2',
    parameters => { retry_after => 2 } } });
my $id = sale();
wait_for('the retry', sub { row($id) =~ /^sent/ }, 15);
my @m = requests_since($n0);
is(scalar @m, 2, '429 then ok: two requests, one message');
cmp_ok($m[1]{time} - $m[0]{time}, '>=', 1.95, sprintf(
    'the resend waited retry_after (%.2f s)', $m[1]{time} - $m[0]{time}));
cmp_ok($m[1]{time} - $m[0]{time}, '<', 3.5, 'and not much longer');
like(row($id), qr/^sent\|2\|\|/, 'sent on the second attempt');

# Permanent errors: one request each, failed with Telegram's description.
for my $e ([400, 'Bad Request: chat not found'],
           [403, 'Forbidden: bot was blocked by the user'],
           [401, 'Unauthorized'],
           [400, 'Bad Request: message thread not found']) {
    $n0 = scalar(sent_messages());
    fake_queue('sendMessage', { status => $e->[0], body => {
        ok => JSON::PP::false, error_code => $e->[0],
        description => $e->[1] } });
    $id = sale();
    wait_for("failed row ($e->[1])", sub { row($id) =~ /^failed/ });
    is(row($id), "failed|1|$e->[1]|$chat", "$e->[0] $e->[1]: failed at once");
    # failed is final (a claim takes pending rows only): one request, ever
    is(scalar(requests_since($n0)), 1, 'and never retried');
    is(psql("SELECT notification_status FROM sales_notifications WHERE"
        . " lead_id = $id"), 'failed', 'the sale says failed');
}

# The severity reaches the journal: a failed attempt that is retried is a
# warning, a message failed for good an error, a sent one progress.
my $journal = pool_log() . deliver_log();
like($journal, qr/^<4>(?:traffic-webhook\[\d+\]: )?telegram: .*attempt 1 failed \(.*Too Many Requests/m,
    'a retried attempt: <4>') or diag($journal);
like($journal, qr/^<3>(?:traffic-webhook\[\d+\]: )?telegram: .*failed for good after 1 attempt: Bad Request: chat not found/m,
    'failed for good: <3>');
like($journal, qr/^<6>(?:traffic-webhook\[\d+\]: )?telegram: .* sent/m, 'sent: <6>');

# can't parse entities: resent once, as plain text.
$n0 = scalar(sent_messages());
fake_queue('sendMessage', { status => 400, body => { ok => JSON::PP::false,
    error_code => 400, description =>
    q{Bad Request: can't parse entities: Unsupported start tag "b" at byte offset 3} } });
$id = sale();
wait_for('plain text resend', sub { row($id) =~ /^sent/ });
@m = requests_since($n0);
is(scalar @m, 2, 'two requests');
is($m[0]{parse_mode}, 'HTML', 'the first as HTML');
ok(!exists $m[1]{parse_mode}, 'the second without parse mode');
like($m[1]{text}, qr/^\x{1F389} НОВАЯ ПРОДАЖА!\n/, 'the same message');
like(row($id), qr/^sent\|1\|sent as plain text/, 'recorded as sent, with a note');

# migrate_to_chat_id: resent to the supergroup, the operator told.
$n0 = scalar(sent_messages());
fake_queue('sendMessage', { status => 400, body => { ok => JSON::PP::false,
    error_code => 400, description =>
    'Bad Request: group chat was upgraded to a supergroup chat',
    parameters => { migrate_to_chat_id => -1009999999999 } } });
$id = sale();
wait_for('migrated send', sub { row($id) =~ /^sent/ });
@m = requests_since($n0);
is(scalar @m, 2, 'two requests');
is($m[1]{chat_id}, -1009999999999, 'the second to the new chat');
like(row($id), qr/^sent\|1\|chat \Q$chat\E migrated to -1009999999999: put -1009999999999 in TELEGRAM_CHAT_IDS\|-1009999999999$/,
    'the row records the new chat and what to do');
like(pool_log() . deliver_log(), qr/chat \Q$chat\E migrated to -1009999999999/,
    'the operator sees the new id in the log');
is(psql("SELECT migrated_to FROM telegram_chats WHERE chat_id = '$chat'"),
    '-1009999999999', 'telegram_chats remembers it');

stop_deliver();
# Telegram down (connection refused, timeouts) for several sales, then up:
# traffic-ctl deliver --now sends each pending message exactly once.  (The
# pool's sidecar makes one attempt: the chat then waits a minute for it.)
stop_pool();
start_pool(workers => 2, env_file => write_env(%tg,
    TELEGRAM_RETRY_BASE_MS => 60000));
fake_default('sendMessage', { delay => 2, close => JSON::PP::true });
my @down = map { sale() } 1 .. 5;
# (the first attempt's failure holds the whole chat for its backoff)
wait_for('an attempt made', sub { psql("SELECT sum(attempts) FROM"
    . " notification_outbox WHERE lead_id >= $down[0]") >= 1 }, 30);
stop_pool_sidecar();    # its attempt in hand ends first: none in flight
write_env(%tg);
wait_for('none in flight', sub { psql("SELECT count(*) FROM"
    . " notification_outbox WHERE lead_id >= $down[0] AND (lease_until IS NULL"
    . " OR lease_until < now())") == 5 }, 30);
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id >= $down[0]"
    . " AND status = 'pending'"), 5, 'all five pending while Telegram is down');
fake_default('sendMessage', undef);
$n0 = scalar(sent_messages());
($rc, $out) = ctl(['deliver', '--now'], TRAFFIC_ENV_FILE => $env);
is($rc, 0, 'traffic-ctl deliver --now exits 0') or diag($out);
like($out, qr/deliver: 5 sent, 0 to retry, 0 failed; 0 pending/, 'it says so');
is(scalar(requests_since($n0)), 5, 'five requests once Telegram is back');
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id >= $down[0]"
    . " AND status = 'sent'"), 5, 'each sent exactly once');

# Retries are bounded: 500 for ever ends as failed after 3 attempts.
start_deliver(env_file => $env);
fake_default('sendMessage', { status => 500, body => { ok => JSON::PP::false,
    error_code => 500, description => 'Internal Server Error' } });
$id = sale();
wait_for('given up', sub { row($id) =~ /^failed/ }, 20);
is(row($id), "failed|3|Internal Server Error|$chat",
    'failed after TELEGRAM_MAX_ATTEMPTS attempts');

stop_deliver();
fake_default('sendMessage', undef);
psql("UPDATE telegram_chats SET next_at = now()");   # the backoff of the 500s

# A sidecar SIGKILLed while sending: after the lease another sends it.
fake_queue('sendMessage', { delay => 6, status => 200, body => {
    ok => JSON::PP::true, result => { message_id => 77 } } });
$n0 = scalar(sent_messages());
my $dpid = start_deliver(env_file => $env);
$id = sale();
wait_for('the hanging send', sub { scalar(requests_since($n0)) >= 1 });
kill 'KILL', $dpid;
stop_deliver();
like(psql("SELECT status, lease_until > now() FROM notification_outbox"
    . " WHERE lead_id = $id"), qr/^pending\|t$/, 'the row is leased, pending');
start_deliver(env_file => $env);
wait_for('sent after the lease', sub { row($id) =~ /^sent/ }, 20);
is(scalar(requests_since($n0)), 2, 'sent by another sidecar after the lease');
like(row($id), qr/^sent\|2\|/, 'on the second attempt');
stop_deliver();

($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env);
is($rc, 1, 'check fails while messages have failed for good') or diag($out);
like($out, qr/telegram: the bot token is accepted\ntelegram: chat \Q$chat\E reachable/,
    'check asks Telegram for the token and the chat');
my $out0 = $out;
fake_queue('getMe', { status => 401, body => { ok => JSON::PP::false,
    error_code => 401, description => 'Unauthorized' } });
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env);
like($out, qr/problem: Telegram refuses TELEGRAM_BOT_TOKEN \(Unauthorized\)/,
    'check: a bad bot token');
fake_queue('getChat', { status => 400, body => { ok => JSON::PP::false,
    error_code => 400, description => 'Bad Request: chat not found' } });
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env);
like($out, qr/problem: Telegram chat \Q$chat\E: Bad Request: chat not found: add the bot/,
    'check: a chat the bot cannot see');
$out .= $out0;
like($out, qr/notifications: 0 pending, 5 failed\n/, 'check counts them');
like($out, qr/problem: 5 Telegram messages failed for good: see last_error/,
    'and says where to look');
unlike(pool_log() . deliver_log() . $out, qr/ERR-tok3n/,
    'the token is in no log');
done_testing();
