# The status page in a real browser: headless Chromium (Debian's chromium)
# opens GET /admin/ through nginx and the real pool, answers its HTTP Basic
# challenge with the token as password, and the test reads the rendered
# DOM at a desktop and a phone width: the sales of the periods per
# targetologist (Unknown included) as the seeded sales say, the last sales
# with their message's state, a hostile deal name shown as text and never
# run, the health, no horizontal scrolling on the phone.  The screenshots
# stay in the build tree (t/057-status-page/).
use strict;
use warnings;
use utf8;
use JSON::PP;
use MIME::Base64 ();
use POSIX qw(strftime mktime);
use Test::More;
use lib 't/lib';
use TrafficTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

-x '/usr/bin/chromium' or plan skip_all => 'no /usr/bin/chromium';
my $admin = 'status-admin-0123456789abcdef';
start_pg();
my $api = start_fake_api();
my %env = (ADMIN_TOKEN => $admin, TELEGRAM_BOT_TOKEN => '5700:STA-token',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => '-1005700000001',
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    DIGEST_TZ => 'Asia/Almaty');
my $envfile = write_env(%env);
my ($rc, $out) = migrate(TRAFFIC_ENV_FILE => $envfile);
is($rc, 0, 'migrations apply') or diag($out);
start_pool(workers => 2, env_file => $envfile);
my $port = start_nginx();
start_deliver(env_file => $envfile);

# The periods' starts in the team's time zone, computed here on their own.
local $ENV{TZ} = 'Asia/Almaty';
POSIX::tzset();
my $now = time;
my @t = localtime $now;
my $day = mktime(0, 0, 0, $t[3], $t[4], $t[5]);
my $week = mktime(0, 0, 0, $t[3] - ($t[6] + 6) % 7, $t[4], $t[5]);
my $month = mktime(0, 0, 0, 1, $t[4], $t[5]);

# Seeded sales: [lead, campaign, price, when]; Unknown has no campaign.
my $hostile = q{<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>"&'};
my @sales = (
    [57000001, 'tripwire_m', 1000, $now - 60],
    [57000002, 'tripwire_m', 2500, $day + 1],
    [57000003, 'arystan_m', 4000, $day - 3600],
    [57000004, 'arystan_m', 700, $day - 3 * 86400],
    [57000005, undef, 300, $day - 20 * 86400],
    [57000006, 'traf4', 9000, $day - 40 * 86400],
    [57000007, undef, 1200, $now - 120],
);
for my $s (@sales) {
    # one message fails for good, with Telegram's reason
    fake_queue('sendMessage', { status => 400, body => { ok => JSON::PP::false,
        error_code => 400, description => 'Bad Request: chat not found' } })
        if $s->[0] == 57000004;
    my $r = post_form('/webhook/amocrm/traffic', lead_form(id => $s->[0],
        status_id => 142, pipeline_id => 10418746, price => $s->[2],
        name => $s->[0] == 57000007 ? $hostile : "Сделка $s->[0]",
        defined $s->[1] ? (utm_campaign => $s->[1]) : ()));
    is($r->{status}, 200, "sale $s->[0] stored");
    wait_for("its message", sub { psql("SELECT count(*) FROM"
        . " notification_outbox WHERE lead_id = $s->[0]"
        . " AND status IN ('sent', 'failed')") == 1 });
    for my $t (qw(all_sales_tracking sales_notifications)) {
        psql("UPDATE $t SET sale_date = to_timestamp($s->[3])"
            . " WHERE lead_id = $s->[0]");
    }
}
my %expect;
my %who = (tripwire_m => 'Kenesary', arystan_m => 'Arystan',
    traf4 => 'Traf4');
for my $s (@sales) {
    my $name = defined $s->[1] ? $who{$s->[1]} : 'Unknown';
    for my $p ([day => $day], [week => $week], [month => $month]) {
        next if $s->[3] < $p->[1];
        $expect{$name}{$p->[0]}{count}++;
        $expect{$name}{$p->[0]}{amount} += $s->[2];
    }
}

my $probe = <<'JS';
(() => {
    const q = (s) => Array.from(document.querySelectorAll(s));
    const text = (s) => { const e = document.querySelector(s);
        return e ? e.textContent : null; };
    return {
        title: document.title, lang: document.documentElement.lang,
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        cells: q('#sales tr[data-targetologist] td[data-period]').map((td) => ({
            who: td.parentElement.dataset.targetologist,
            period: td.dataset.period, count: +td.dataset.count,
            amount: +td.dataset.amount, text: td.textContent })),
        rows: q('#sales tbody tr').map((tr) => tr.dataset.targetologist),
        bars: q('svg').map((svg) => Array.from(svg.querySelectorAll('rect'))
            .map((r) => +r.getAttribute('width'))),
        outside: q('td, th, figure').filter((e) =>
            e.getBoundingClientRect().right >
            document.documentElement.clientWidth + 1).length,
        recent: q('#recent tr[data-lead]').map((tr) => ({
            lead: +tr.dataset.lead,
            cells: Array.from(tr.cells).map((c) => c.textContent) })),
        health: Object.fromEntries(['last-webhook', 'success-rate', 'pending',
            'failed', 'spool', 'hook'].map((id) => [id, text('#' + id)])),
        healthText: text('#health'),
        scripts: q('script').length, images: q('img').length,
        pwned: window.__pwned === undefined ? null : window.__pwned,
        external: q('link[href], [src]').length,
    };
})()
JS
my $shots = builddir() . '/t/057-status-page';
($rc, $out) = run_cmd(['node', '--experimental-websocket',
    srcdir() . '/t/lib/browse.js', '--url', "http://127.0.0.1:$port/admin/",
    '--user', 'team', '--password', $admin, '--out', $shots,
    '--width', 'desktop:1280x900', '--width', 'phone:390x844',
    '--probe', $probe, '--timeout', 60]);
is($rc, 0, 'Chromium opened the page') or diag($out);
my ($json) = $out =~ /^(\[.*\])$/m;
my $pages = eval { decode_json($json // '') } || [];
is(scalar @$pages, 2, 'at two widths');

for my $p (@$pages) {
    my $d = $p->{dom};
    my $w = $p->{name};
    is($p->{status}, 200, "$w: 200 once the browser gave the token");
    is(scalar @{ $p->{challenges} }, 1, "$w: after one challenge");
    is(lc($p->{challenges}[0]{scheme} // ''), 'basic', "$w: HTTP Basic");
    is($d->{lang}, 'ru', "$w: a Russian page");
    like($d->{title}, qr/состояние/, "$w: titled in Russian");
    is_deeply($d->{rows}, [qw(Kenesary Arystan Muha Traf4 Unknown)],
        "$w: every targetologist in the rules' order, Unknown last");
    my %got;
    $got{$_->{who}}{$_->{period}} = $_ for @{ $d->{cells} };
    for my $who (qw(Kenesary Arystan Muha Traf4 Unknown)) {
        for my $period (qw(day week month)) {
            my $e = $expect{$who}{$period} || { count => 0, amount => 0 };
            my $g = $got{$who}{$period} || {};
            is(($g->{count} // 'none') . ' / ' . ($g->{amount} // 'none'),
                "$e->{count} / $e->{amount}", "$w: $who, $period");
        }
    }
    like($got{Kenesary}{day}{text}, qr/^2 · 3,500 ₸$/,
        "$w: shown as count and amount");
    is(join(',', map { scalar @$_ } @{ $d->{bars} }), '5,5,5',
        "$w: three bar charts of five bars");
    for my $k (0 .. 2) {
        my $period = (qw(day week month))[$k];
        my @amounts = map { ($expect{$_}{$period} || {})->{amount} || 0 }
            qw(Kenesary Arystan Muha Traf4 Unknown);
        my ($top) = sort { $b <=> $a } @amounts;
        my @want = map { $top ? int($_ / $top * 180) : 0 } @amounts;
        is(join(',', @{ $d->{bars}[$k] }), join(',', @want),
            "$w: the $period chart's bars measure the amounts");
    }
    is(scalar @{ $d->{recent} }, scalar @sales, "$w: the last sales listed");
    is($d->{recent}[0]{lead}, 57000001, "$w: the newest first");
    my ($evil) = grep { $_->{lead} == 57000007 } @{ $d->{recent} };
    is($evil->{cells}[1], $hostile, "$w: the hostile deal name shown as text");
    is($d->{images} . '|' . $d->{scripts} . '|' . ($d->{pwned} // 'none'),
        '0|0|none', "$w: and never run: no img, no script, nothing ran");
    is($d->{external}, 0, "$w: no outside asset");
    my ($failed) = grep { $_->{lead} == 57000004 } @{ $d->{recent} };
    is($failed->{cells}[4], 'не доставлено', "$w: a failed message's state");
    is($d->{health}{failed}, '1', "$w: one message failed");
    like($d->{healthText}, qr/Bad Request: chat not found/,
        "$w: with Telegram's reason");
    is($d->{health}{spool}, '0', "$w: spool empty");
    like($d->{health}{'last-webhook'}, qr/^\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d$/,
        "$w: the last webhook's time");
    is($d->{health}{'success-rate'}, '100.0%', "$w: every delivery fine");
    like($d->{health}{hook}, qr/неизвестно/, "$w: the hook not known yet");
    is($d->{outside}, 0, "$w: no cell or chart past the screen's edge");
    cmp_ok($d->{scrollWidth}, '<=', $d->{clientWidth},
        "$w: no horizontal scrolling ($d->{scrollWidth} <= $d->{clientWidth})");
    ok(-s $p->{screenshot}, "$w: screenshot kept in $p->{screenshot}");
}

# Without the token the browser gets a challenge and no page.
my $r = http('GET', '/admin/');
is($r->{status}, 401, 'no credentials: 401');
like($r->{headers}{'www-authenticate'}, qr/^Basic realm=/, 'a Basic challenge');
unlike($r->{content}, qr/Kenesary/, 'and nothing of the page');
$r = http('GET', '/admin/', undef, Authorization => 'Basic '
    . MIME::Base64::encode_base64('team:wrong', ''));
is($r->{status}, 401, 'a wrong password: 401 again');
done_testing();
