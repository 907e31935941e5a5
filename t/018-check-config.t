# The env file as editors and admins write it, and traffic-ctl check as
# the units' ExecStartPre runs it: a byte-order mark, inline comments, a
# repeated key (a warning naming both lines); every configuration problem
# listed, exit 78; --config-only asks no database and no network; a
# network that does not answer is named as such (not as a refused token);
# a spool the service user cannot write is a problem now, not at the next
# outage.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $dir = tmpdir();
my $env = "$dir/check.env";
sub check {
    my ($text, @args) = @_;
    spew($env, $text, 0600);
    return ctl(['check', @args], TRAFFIC_ENV_FILE => $env,
        DATABASE_URL => undef);
}
my $db = 'DATABASE_URL=' . pg_url() . "\nSPOOL_DIR=$dir/spool\n";

# The env file's forms.
($rc, $out) = check("\xEF\xBB\xBF" . $db
    . "CURRENCY=RUB # the currency, said once\n"
    . "PRODUCT_NAME=\"Курс #1\" # quoted, then a comment\n"
    . "WEBHOOK_PUBLIC_URL=https://api.example.com/hook#x\n", '--config-only');
is($rc, 0, 'a byte-order mark, inline comments: check --config-only passes')
    or diag($out);
like($out, qr/^CURRENCY=RUB$/m, 'an unquoted value ends before " #"');
like($out, qr/^PRODUCT_NAME=Курс #1$/m,
    'a quoted one at its quote, a "#" inside it the value\'s');
like($out, qr{^WEBHOOK_PUBLIC_URL=https://api\.example\.com/hook#x$}m,
    'a "#" with no space before it too');
($rc, $out) = check($db . "CURRENCY=KZT\n\nCURRENCY=RUB\n", '--config-only');
like($out, qr/warning: \Q$env\E:5: CURRENCY repeats line 3; the last one counts/,
    'a repeated key: a warning naming both lines');
like($out, qr/^CURRENCY=RUB$/m, 'the last one counts');
($rc, $out) = check($db . "CURRENCY=\"RUB\" KZT\n", '--config-only');
is($rc, 78, 'text after a closing quote: 78');
like($out, qr/\Q$env\E:3: a quote left open, or text after it/, 'naming the line');

# Every problem, not only the first.
($rc, $out) = check($db . "DB_ANSWER_MS=abc\nTELEGRAM_CHAT_INTERVAL_MS=-5\n"
    . "DIGEST_AT=25:00\nCURRENCY=tenge\n");
is($rc, 78, 'a bad configuration: exit 78');
my @p = $out =~ /^problem: (\w+):/mg;
is(join(',', sort @p), 'CURRENCY,DB_ANSWER_MS,DIGEST_AT,'
    . 'TELEGRAM_CHAT_INTERVAL_MS', 'all four problems listed') or diag($out);
like($out, qr/^check failed: 4 configuration problems$/m, 'and counted');
($rc, $out) = check($db . "TARGETOLOGISTS_FILE=$dir/none.conf\n");
is($rc, 78, 'a rules file not there: 78');
like($out, qr/^problem: rules: .*none\.conf/m, 'said as a problem');

# --config-only: nothing asked of the network or the database.
my $away = "DATABASE_URL=postgresql:///none?host=$dir/no-pg&connect_timeout=1\n"
    . "SPOOL_DIR=$dir/spool\nTELEGRAM_BOT_TOKEN=1:unreachable\n"
    . "TELEGRAM_CHAT_IDS=-1001\nTELEGRAM_API_BASE=http://127.0.0.1:9\n"
    . "TELEGRAM_TIMEOUT_MS=500\n";
($rc, $out) = check($away, '--config-only');
is($rc, 0, '--config-only: a database and a Telegram away do not matter')
    or diag($out);
unlike($out, qr/^(database|telegram):/m, 'neither was asked');
($rc, $out) = check($away);
is($rc, 1, 'the full check: problems');
like($out, qr/^problem: Telegram cannot be reached at http:\/\/127\.0\.0\.1:9 .*check the network/m,
    'a network that does not answer is named as such');
unlike($out, qr/refuses TELEGRAM_BOT_TOKEN|BotFather/,
    'not as a refused token');
like($out, qr/^problem: .*check DATABASE_URL and that PostgreSQL runs/m,
    'the database away, said');

# A spool the service user cannot write.
SKIP: {
    skip 'needs root to run check as another user', 3 if $> != 0;
    my $spool = "$dir/root-spool";
    mkdir $spool, 0700;
    spew($env, "DATABASE_URL=postgresql:///x\nSPOOL_DIR=$spool\n", 0644);
    # (the units' user named in the advice: TRAFFIC_SERVICE_USER unset)
    ($rc, $out) = run_cmd(['runuser', '-u', 'nobody', '--',
        builddir() . '/src/traffic-ctl', 'check', '--config-only'],
        env => { TRAFFIC_ENV_FILE => $env, TRAFFIC_SERVICE_USER => '' });
    is($rc, 1, 'a spool root keeps to itself: check fails');
    like($out, qr/^problem: SPOOL_DIR \Q$spool\E cannot take a request as nobody .*install -d -o traffic-webhook/m,
        'saying how to make it');
    chmod 0777, $spool;
    ($rc, $out) = run_cmd(['runuser', '-u', 'nobody', '--',
        builddir() . '/src/traffic-ctl', 'check', '--config-only'],
        env => { TRAFFIC_ENV_FILE => $env });
    unlike($out, qr/^problem: SPOOL_DIR/m, 'a writable one: no problem');
    unlike($out, qr/^problem: (?!\S+ is readable by every user)/m,
        'nothing else either') or diag($out);

    # root's entry and metrics file in the service's spool: what a replay
    # as root used to leave, which the service cannot use
    my $entry = "$spool/00000000001800000000.000000000-1.req";
    spew($entry, "traffic-webhook spool 1\n", 0600);
    spew("$spool/.metrics", '', 0600);
    ($rc, $out) = run_cmd(['runuser', '-u', 'nobody', '--',
        builddir() . '/src/traffic-ctl', 'check', '--config-only'],
        env => { TRAFFIC_ENV_FILE => $env });
    is($rc, 1, 'another user\'s entry and metrics file: check fails');
    like($out, qr/^problem: 1 spooled request in \Q$spool\E cannot be read as nobody .*chown nobody:nobody/m,
        'the entry named, with the fix') or diag($out);
    like($out, qr/^problem: METRICS_FILE \Q$spool\E\/\.metrics cannot be written as nobody/m,
        'the metrics file named');
}
done_testing();
