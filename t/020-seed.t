# The seed's own checks, end to end through nginx (built from the shipped
# snippet), the spawn-fcgi pool and PostgreSQL: the test endpoint's JSON,
# the test deal stored for Kenesary in all three tables, wrong pipeline and
# wrong status skipped with their reason, HEAD answered.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
start_pool(workers => 2);
start_nginx();

my $r = http('GET', '/webhook/amocrm/traffic/test');
is($r->{status}, 200, 'GET test endpoint: 200');
like($r->{headers}{'content-type'}, qr{^application/json}, 'answers JSON');
my $j = eval { decode_json($r->{content}) } || {};
is($j->{success}, JSON::PP::true, 'success is true');
is($j->{message}, 'Traffic Dashboard webhook endpoint is active', 'message');
is($j->{endpoint}, '/webhook/amocrm/traffic', 'endpoint');
like($r->{content}, qr{"endpoint":"/webhook/amocrm/traffic"},
    'slashes written as the seed shows them');
is($j->{version}, changelog_version(), 'version: debian/changelog\'s');
is($j->{pipeline}, 10418746, 'pipeline is the number 10418746');
is_deeply($j->{targetologists}, [qw(Kenesary Arystan Muha Traf4)],
    'targetologists in the seed\'s order');
like($j->{timestamp}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    'timestamp is ISO 8601');
# the answer is kept while the health stays the same; its time never is
my @stamps = map { select(undef, undef, undef, 0.02);
    (eval { decode_json(http('GET', '/webhook/amocrm/traffic/test')->{content}) }
        || {})->{timestamp} // '' } 1 .. 6;
my %seen = map { $_ => 1 } @stamps;
is(scalar(keys %seen), 6, 'every answer has its own time') or diag("@stamps");
my @t = gmtime(time);
my $today = sprintf('%04d-%02d-%02dT', $t[5] + 1900, $t[4] + 1, $t[3]);
like($stamps[-1], qr/^\Q$today\E/, 'and it is now');
is($j->{database}, 'connected', 'database is connected');

$r = http('HEAD', '/webhook/amocrm/traffic');
is($r->{status}, 200, 'HEAD webhook: 200');
is($r->{content} // '', '', 'HEAD has no body') or diag(explain $r);
# nginx drops a HEAD's body itself: the pool's own answer, straight
for my $path ('/webhook/amocrm/traffic', '/webhook/amocrm/traffic/test') {
    my $c = cgi_fcgi(pool_sock(), 'HEAD', $path);
    is($c->{status}, 200, "HEAD $path at the pool: 200");
    like($c->{raw}, qr/\r?\n\r?\n\z/, 'its headers and nothing after them')
        or diag($c->{raw});
    my $g = cgi_fcgi(pool_sock(), 'PUT', $path);
    is($g->{status}, 405, "PUT $path at the pool: 405 (nginx lets it by)");
    like($g->{headers}{allow} // '', qr/HEAD/, 'with Allow');
}

# The seed's test deal: TEST - Traffic Webhook, 100,000 KZT, kenesary_test,
# tripwire_dec20, cpc.
my $body = example('01-status-142-full.txt');
$r = http('POST', '/webhook/amocrm/traffic', $body,
    'Content-Type' => 'application/x-www-form-urlencoded',
    'X-AmoCRM-RequestId' => 'f1e2d3c4-0000-4000-8000-000000000001');
is($r->{status}, 200, 'test deal: 200') or diag($r->{content});
$j = eval { decode_json($r->{content}) } || {};
is_deeply($j, { success => JSON::PP::true, results => { total => 1,
    processed => 1, duplicates => 0, skipped => 0, ignored => 0,
    errors => 0 } }, 'answer counts one processed sale');

is(psql("SELECT lead_id, lead_name, sale_amount, currency, targetologist,"
    . " targetologist_emoji, utm_source, utm_campaign, utm_medium,"
    . " notification_status FROM sales_notifications"),
    "25123456|TEST - Traffic Webhook|100000.00|KZT|Kenesary|\x{f0}\x{9f}\x{91}\x{91}"
    . "|kenesary_test|tripwire_dec20|cpc|disabled",
    'sales_notifications has the sale for Kenesary (no Telegram configured)');
is(psql("SELECT lead_id, targetologist, sale_amount, utm_campaign, source,"
    . " sale_date = webhook_received_at FROM all_sales_tracking"),
    '25123456|Kenesary|100000.00|tripwire_dec20|amocrm_traffic|t',
    'all_sales_tracking has it for the dashboard');
is(psql("SELECT source, event_type, lead_id, routing_decision,"
    . " processing_status, coalesce(error_message, 'null'), request_id"
    . " FROM webhook_logs"),
    'amocrm_traffic|leads.status|25123456|traffic|success|null|'
    . 'f1e2d3c4-0000-4000-8000-000000000001',
    'webhook_logs: the seed\'s debugging query shows success');
is(psql("SELECT raw_webhook_data->>'id', raw_webhook_data->'custom_fields'->1"
    . "->'values'->0->>'value' FROM sales_notifications"),
    '25123456|tripwire_dec20', 'raw_webhook_data is the lead\'s own subtree');

# Wrong pipeline and wrong status: skipped, each with its reason.
$r = http('POST', '/webhook/amocrm/traffic', example('04-status-skipped.txt'),
    'Content-Type' => 'application/x-www-form-urlencoded');
is($r->{status}, 200, 'non-sales: still 200');
$j = eval { decode_json($r->{content}) } || {};
is($j->{results}{skipped}, 2, 'both leads skipped');
is(psql("SELECT lead_id, processing_status, skip_reason FROM webhook_logs"
    . " WHERE lead_id IN (25123459, 25123460) ORDER BY lead_id"),
    "25123459|skipped|pipeline_id 9999999 is not 10418746\n"
    . "25123460|skipped|status_id 143 is not 142",
    'skipped rows say why');
is(psql("SELECT count(*) FROM sales_notifications"), 1, 'no sale added');

# Not found, wrong method.
$r = http('GET', '/webhook/amocrm/nothing-here');
is($r->{status}, 404, 'unknown path: 404');
$r = http('GET', '/webhook/amocrm/traffic');
is($r->{status}, 405, 'GET on the webhook: 405');
like($r->{headers}{allow} // '', qr/POST/, 'Allow names POST');
like($r->{content}, qr/"success":false/, '405 answers JSON');

unlike(nginx_error_log(), qr/\[(alert|emerg|crit)\]/, 'no alert in nginx log');
like(pool_log(), qr/req=f1e2d3c4-0000-4000-8000-000000000001 POST \S+ 200 leads=25123456:success/,
    'the worker logged the request id, lead and outcome');
done_testing();
