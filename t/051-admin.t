# The admin API through nginx: off without ADMIN_TOKEN; 401 without a
# Bearer token, 403 with a wrong one; webhook-logs with every filter,
# newest first, the limit capped; stats by routing and status with the
# success rate; notifications by status; never a phone, e-mail or raw body.
# Also traffic-ctl prune and resend.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

my $admin = 'admin-token-0123456789-abcdef';
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my %tg = (TELEGRAM_BOT_TOKEN => '999:ADMIN-tg', TELEGRAM_CHAT_IDS => '-1001',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_INTERVAL_MS => 0);
start_pool(workers => 2, env_file => write_env(%tg));
start_nginx();

my $r = http('GET', '/api/admin/webhook-logs', undef,
    Authorization => "Bearer $admin");
is($r->{status}, 404, 'without ADMIN_TOKEN the admin API does not exist');

stop_pool();
my $env = write_env(%tg, ADMIN_TOKEN => $admin);
start_pool(workers => 2, env_file => $env, sidecar => 0);
start_deliver(env_file => $env);    # what a busy chat held back

# Some traffic: sales, a skipped lead, an error, a unified referral.
for my $id (51000001 .. 51000003) {
    my $b = example('01-status-142-full.txt');
    $b =~ s/25123456/$id/g;
    http('POST', '/webhook/amocrm/traffic', $b,
        'Content-Type' => 'application/x-www-form-urlencoded');
}
http('POST', '/webhook/amocrm/traffic', example('04-status-skipped.txt'),
    'Content-Type' => 'application/x-www-form-urlencoded');
http('POST', '/webhook/amocrm/traffic', '%zz', 'Content-Type' =>
    'application/x-www-form-urlencoded');
(my $ref = example('01-status-142-full.txt')) =~ s/25123456/51000009/g;
$ref =~ s/kenesary_test/ref_anna/;
http('POST', '/webhook/amocrm', $ref,
    'Content-Type' => 'application/x-www-form-urlencoded');
psql("UPDATE sales_notifications SET contact_phone = '+77019999999',"
    . " contact_email = 'secret\@example.com'");

sub admin {
    my ($path, $auth) = @_;
    my $r = http('GET', $path, undef,
        defined $auth ? (Authorization => $auth) : ());
    $r->{json} = eval { decode_json($r->{content}) };
    return $r;
}

$r = admin('/api/admin/webhook-logs');
is($r->{status}, 401, 'no token: 401');
like($r->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'WWW-Authenticate');
$r = admin('/api/admin/webhook-logs', "Bearer ${admin}x");
is($r->{status}, 403, 'a wrong token: 403');
$r = admin('/api/admin/webhook-logs', 'Bearer ' . substr($admin, 0, 8));
is($r->{status}, 403, 'a prefix of the token: 403');
$r = admin('/api/admin/webhook-logs', 'Bearer ');
like($r->{status}, qr/^40[13]$/, 'an empty Bearer: refused');
$r = admin('/api/admin/webhook-logs', "Basic $admin");
is($r->{status}, 401, 'not a Bearer token: 401');
$r = http('POST', '/api/admin/webhook-logs', '{}',
    Authorization => "Bearer $admin");
is($r->{status}, 405, 'POST: 405');

$r = admin('/api/admin/webhook-logs?limit=10', "Bearer $admin");
is($r->{status}, 200, 'the logs: 200');
my $logs = $r->{json}{logs};
is($r->{json}{count}, 7, 'seven rows');
is_deeply([sort keys %{ $logs->[0] }], [sort qw(id received_at source
    event_type lead_id request_id routing_decision processing_status
    targetologist skip_reason error_message)], 'the seed\'s column names');
is($logs->[0]{lead_id}, 51000009, 'newest first');
unlike($r->{content}, qr/77019999999|secret\@example|raw_body|utm_source/,
    'no phone, e-mail or body');

$r = admin('/api/admin/webhook-logs?status=skipped', "Bearer $admin");
is_deeply([sort map { $_->{lead_id} } @{ $r->{json}{logs} }],
    [25123459, 25123460], 'status filter');
$r = admin('/api/admin/webhook-logs?routing=referral&source=amocrm',
    "Bearer $admin");
is_deeply([map { $_->{lead_id} } @{ $r->{json}{logs} }], [51000009],
    'routing and source filters');
$r = admin('/api/admin/webhook-logs?lead_id=51000002', "Bearer $admin");
is($r->{json}{count}, 1, 'lead filter');
$r = admin('/api/admin/webhook-logs?limit=2', "Bearer $admin");
is($r->{json}{count}, 2, 'limit');
psql("INSERT INTO webhook_logs (source, processing_status) SELECT"
    . " 'amocrm_traffic', 'ignored' FROM generate_series(1, 600)");
$r = admin('/api/admin/webhook-logs?limit=100000', "Bearer $admin");
is($r->{json}{count}, 500, 'the limit is capped at 500');
for my $bad ('limit=0', 'limit=abc', 'status=drop%20table', 'routing=x',
             'lead_id=-1') {
    $r = admin("/api/admin/webhook-logs?$bad", "Bearer $admin");
    is($r->{status}, 400, "$bad: 400");
}

$r = admin('/api/admin/webhook-logs/stats?source=amocrm_traffic',
    "Bearer $admin");
is($r->{status}, 200, 'stats: 200');
is($r->{json}{total}, 606, 'total');
is_deeply($r->{json}{by_status}, { success => 3, skipped => 2, error => 1,
    ignored => 600 }, 'by status');
is($r->{json}{by_routing}{traffic}, 3, 'by routing');
is($r->{json}{success_rate}, 0.5, 'success rate in percent');

# The stats as an oracle computes them from the rows, for each source and
# for all: a mix of every status and routing (a duplicate counts as a
# success, a row without routing as "none").
psql("INSERT INTO webhook_logs (source, processing_status, routing_decision)"
    . " VALUES ('amocrm_traffic', 'duplicate', 'traffic'), ('amocrm',"
    . " 'success', 'referral'), ('amocrm', 'duplicate', 'both'), ('amocrm',"
    . " 'error', NULL), ('amocrm', 'skipped', 'unknown')");
for my $source ('amocrm_traffic', 'amocrm', undef) {
    my (%status, %routing, $n, $ok);
    for (split /\n/, psql("SELECT processing_status || '|' ||"
            . " coalesce(routing_decision, 'none') FROM webhook_logs"
            . (defined $source ? " WHERE source = '$source'" : ''))) {
        my ($st, $rt) = split /\|/;
        $status{$st}++;
        $routing{$rt}++;
        $n++;
        $ok++ if $st eq 'success' || $st eq 'duplicate';
    }
    $r = admin('/api/admin/webhook-logs/stats'
        . (defined $source ? "?source=$source" : ''), "Bearer $admin");
    is_deeply($r->{json}, { success => JSON::PP::true, total => $n,
        by_status => \%status, by_routing => \%routing,
        success_rate => 0 + sprintf('%.1f', 100 * ($ok // 0) / $n) },
        'stats of ' . ($source // 'every source') . ' = the rows\' own'
        . " ($n rows)") or diag($r->{content});
}

wait_for('the messages', sub { psql("SELECT count(*) FROM notification_outbox"
    . " WHERE status = 'sent'") == 3 });
psql("UPDATE notification_outbox SET status = 'failed', last_error ="
    . " 'Forbidden: bot was blocked by the user' WHERE lead_id = 51000002");
$r = admin('/api/admin/notifications?status=failed', "Bearer $admin");
is($r->{status}, 200, 'notifications: 200');
is($r->{json}{count}, 1, 'one failed');
is($r->{json}{notifications}[0]{last_error},
    'Forbidden: bot was blocked by the user', 'with Telegram\'s reason');
unlike($r->{content}, qr/77019999999|secret\@example/, 'no phone or e-mail');

# traffic-ctl resend: the failed message goes out again (sent by resend
# itself, so the sidecar is stopped first).
stop_deliver();
my $before = scalar(sent_messages());
($rc, $out) = ctl(['resend', '51000002'], TRAFFIC_ENV_FILE => $env);
is($rc, 0, 'resend: exit 0') or diag($out);
like($out, qr/resend: lead 51000002: 1 sent/, 'it says so');
is(scalar(sent_messages()), $before + 1, 'one more message');
is(psql("SELECT status || '|' || attempts FROM notification_outbox WHERE"
    . " lead_id = 51000002"), 'sent|1', 'the row is sent again');
($rc, $out) = ctl(['resend', '424242'], TRAFFIC_ENV_FILE => $env);
is($rc, 1, 'resend of an unknown lead fails');
like($out, qr/no sale for lead 424242/, 'and says so');

# traffic-ctl prune.
psql("UPDATE webhook_logs SET received_at = now() - interval '40 days'"
    . " WHERE processing_status = 'ignored'");
($rc, $out) = ctl(['prune', '--older-than', '30d'], TRAFFIC_ENV_FILE => $env);
is($rc, 0, 'prune: exit 0') or diag($out);
like($out, qr/webhook_logs: 600 rows older than 2592000 s removed/, 'counted');
is(psql("SELECT count(*) FROM webhook_logs"), 12, 'the recent rows stay');
($rc, $out) = ctl(['prune', '--older-than', 'soon'], TRAFFIC_ENV_FILE => $env);
is($rc, 2, 'a bad age: usage');
unlike(pool_log(), qr/\Q$admin\E/, 'the admin token is in no log');
done_testing();
