# Access control and secrets: WEBHOOK_SECRET (?token=) checked before
# anything is processed, AMOCRM_DOMAIN refusing foreign accounts, and the
# whole flow run with every secret set, after which no log, answer or
# webhook_logs row holds a secret.  traffic-ctl check warns about an env
# file others can read.
use strict;
use warnings;
use MIME::Base64 ();
use Test::More;
use lib 't/lib';
use TrafficTest;

my %secret = (WEBHOOK_SECRET => 'whsec-0123456789abcdef-XYZ',
    ADMIN_TOKEN => 'admin-0123456789abcdef-XYZ',
    TELEGRAM_BOT_TOKEN => '42424242:TGSECRET-abcdefXYZ',
    AMOCRM_ACCESS_TOKEN => 'amo-0123456789abcdef-XYZ');
my $dbpass = 'pgpass-0123456789-XYZ';
start_pg(settings => ['fsync = on']);    # check calls fsync off a problem
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api(fixtures => srcdir() . '/t/fixtures/amocrm');
# libpq ignores an unused password with trust auth: it only has to be there
my $env = write_env(%secret, DATABASE_URL => pg_url() . "&password=$dbpass",
    AMOCRM_DOMAIN => 'onaiagencykz', AMOCRM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => '-1001',
    TELEGRAM_API_BASE => $api);
my $sock = start_pool(workers => 2, env_file => $env);
is(sprintf('%o', (stat $sock)[2] & 07777), '660',
    'the pool\'s socket is not world-writable');
start_nginx();

my @answers;
sub post {
    my ($query, $body, %h) = @_;
    my $r = http('POST', "/webhook/amocrm/traffic$query", $body,
        'Content-Type' => 'application/x-www-form-urlencoded', %h);
    push @answers, $r->{content}, join(' ', %{ $r->{headers} });
    return $r;
}
my $sale = example('01-status-142-full.txt');

my $r = post('', $sale);
is($r->{status}, 403, 'no token: 403');
like($r->{content}, qr/"success":false/, 'a JSON error');
$r = post('?token=whsec-0123456789abcdef-XYz', $sale);
is($r->{status}, 403, 'a token that differs in its last byte: 403');
$r = post('?token=whsec', $sale);
is($r->{status}, 403, 'a prefix of the token: 403');
$r = post('?token=', $sale);
is($r->{status}, 403, 'an empty token: 403');
$r = post("?token=$secret{WEBHOOK_SECRET}x", $sale);
is($r->{status}, 403, 'the token with a byte more: 403');
is(psql("SELECT count(*) FROM sales_notifications"), 0, 'nothing stored');
is(psql("SELECT count(*), min(error_message) FROM webhook_logs WHERE"
    . " processing_status = 'error'"), '5|missing or wrong webhook token',
    'each refusal has its log row');
is(psql("SELECT count(*) FROM webhook_logs WHERE raw_body IS NOT NULL AND"
    . " raw_body <> ''"), 0, 'a refused body is not kept');
is(psql("SELECT DISTINCT lead_id || ' ' || event_type FROM webhook_logs"),
    '25123456 unauthenticated', 'each row names the lead the body named, so'
    . ' a sale refused for a stale secret is found by its lead');
($rc, $out) = ctl(['logs', '--lead', '25123456']);
like($out, qr/missing or wrong webhook token/, 'traffic-ctl logs --lead finds'
    . ' it') or diag($out);

$r = post("?x=1&token=$secret{WEBHOOK_SECRET}", $sale);
is($r->{status}, 200, 'the right token (among other parameters): 200')
    or diag($r->{content});
is(psql("SELECT count(*) FROM sales_notifications"), 1, 'the sale is stored');
wait_for('the message', sub { sent_messages() >= 1 });

# A body from another account.
(my $foreign = $sale) =~ s/account%5Bsubdomain%5D=onaiagencykz/account%5Bsubdomain%5D=evilcorp/
    or die 'the example has no account[subdomain]';
$foreign =~ s/25123456/25999999/g;
$r = post("?token=$secret{WEBHOOK_SECRET}", $foreign);
is($r->{status}, 403, 'foreign account: 403');
like($r->{content}, qr/not the configured account/, 'and says why');
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id = 25999999"),
    0, 'nothing stored for it');
like(psql("SELECT error_message FROM webhook_logs WHERE error_message LIKE"
    . " '%evilcorp%'"), qr/account\[subdomain\] "evilcorp" is not AMOCRM_DOMAIN onaiagencykz/,
    'logged with the reason');
is(psql("SELECT lead_id || ' ' || event_type FROM webhook_logs WHERE"
    . " error_message LIKE '%evilcorp%'"), '25999999 foreign_account',
    'with the lead the body named');
(my $nosub = $foreign) =~ s/account%5Bsubdomain%5D=evilcorp&?//;
$r = post("?token=$secret{WEBHOOK_SECRET}", $nosub);
is($r->{status}, 403, 'no account[subdomain] at all: 403');
(my $upper = $sale) =~ s/subdomain%5D=onaiagencykz/subdomain%5D=OnAiAgencyKZ/;
$upper =~ s/25123456/25888888/g;
$r = post("?token=$secret{WEBHOOK_SECRET}", $upper);
is($r->{status}, 200, 'the subdomain compared without case');

# The status page: the refused requests are no failed deliveries (the
# rate counts this account's two sales), and are shown on their own.
$r = http('GET', '/admin/', undef, Authorization => 'Basic '
    . MIME::Base64::encode_base64("team:$secret{ADMIN_TOKEN}", ''));
is($r->{status}, 200, 'the status page') or diag($r->{content});
like($r->{content}, qr{id="success-rate">100\.0%</span> \(2 из 2\)},
    'the rate leaves the wrong-token and foreign requests out');
like($r->{content}, qr{<li class="bad">[^<]*<span id="refused">7</span>},
    'and counts them apart: five wrong tokens, two bodies of no account');

# check: secrets masked, a world-readable env file is a problem.
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env, DATABASE_URL => undef);
is($rc, 0, 'check passes with the 0600 env file') or diag($out);
push @answers, $out;
chmod 0644, $env;
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env, DATABASE_URL => undef);
is($rc, 1, 'check fails when the env file is world-readable');
like($out, qr/problem: \S+ is readable by every user and holds secrets: chmod 640/,
    'and says what to do');
push @answers, $out;
chmod 0600, $env;

# No secret anywhere.
my $everything = join("\n", @answers, pool_log(), nginx_error_log(),
    slurp(tmpdir() . '/nginx-access.log'),
    psql("SELECT string_agg(concat_ws(' ', error_message, skip_reason,"
        . " raw_body, request_id), ' ') FROM webhook_logs"),
    psql("SELECT string_agg(coalesce(last_error, ''), ' ') FROM"
        . " notification_outbox"));
for my $k (sort keys %secret) {
    my $v = $secret{$k};
    my @where = grep { index($_, $v) >= 0 } split /\n/, $everything;
    is(scalar @where, 0, "$k appears in no log, answer or row")
        or diag("found in: $where[0]");
}
unlike($everything, qr/\Q$dbpass\E/, 'nor the database password');
done_testing();
