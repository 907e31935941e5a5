# What each targetologist's ad money returns: traffic-ctl ads sync against
# a fake Graph API and a fake NBK on loopback (real HTTP, the real formats)
# and traffic-ctl roi, its numbers checked against figures this test
# computes itself.  Two ad accounts: one in USD mapped to Kenesary, one in
# KZT whose campaigns are matched by name (one matching nobody: Unknown);
# pages of two rows, a throttle answered once, a day revised between two
# syncs, two days without a rate of their own (a weekend), a sale whose
# price was corrected and a sale reversed inside the period, an unknown
# account, an expired token.  The token never travels in a URL.
use strict;
use warnings;
use utf8;
use Encode ();
use JSON::PP ();
use MIME::Base64 ();
use POSIX qw(strftime);
use Sys::Hostname ();
use Test::More;
use lib 't/lib';
use TrafficTest;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output);

my $token = 'EAAB-roi-test-token-0123456789';
my $dir = tmpdir();
open my $fh, '>:utf8', "$dir/rules.conf" or die;
print $fh "Kenesary | \x{1F451} | tripwire,kenesary\n"
    . "Arystan | \x{1F981} | arystan\nMuha | \x{1F680} | muha\n"
    . "Unknown | \x{2753} |\n";
close $fh;
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $admin = 'roi-admin-0123456789abcdef';
my $envfile = write_env(TARGETOLOGISTS_FILE => "$dir/rules.conf",
    FACEBOOK_ADS_TOKEN => $token, ADMIN_TOKEN => $admin,
    FACEBOOK_AD_ACCOUNTS => 'act_111:Kenesary, act_222',
    FACEBOOK_API_BASE => "$api/v21.0", RATES_API_BASE => "$api/rss",
    DIGEST_TZ => 'Asia/Almaty');
start_pool(workers => 2, env_file => $envfile, sidecar => 0);
my $port = start_nginx();

# The period: the last four of the team's days, today's included.
my $today = psql("SELECT (now() AT TIME ZONE 'Asia/Almaty')::date");
my @d = map { psql("SELECT ('$today'::date - $_)::text") } 3, 2, 1, 0;
sub ru { my ($y, $m, $dd) = split /-/, $_[0]; "$dd.$m.$y" }

# Facebook: USD for Kenesary on every day; KZT for the others.
my @usd = ([$d[0], 100], [$d[1], 50], [$d[2], 25.5], [$d[3], 10]);
fake_control('facebook', { page_size => 2, throttle => 1, accounts => {
    act_111 => { currency => 'USD', rows => [ map { { date_start =>
        $_->[0], date_stop => $_->[0], campaign_id => "c1-$_->[0]",
        campaign_name => 'Any name at all', spend => "$_->[1]",
        impressions => '1000', clicks => '10' } } @usd ] },
    act_222 => { currency => 'KZT', rows => [
        { date_start => $d[0], campaign_id => 'c2',
          campaign_name => 'arystan_spring', spend => '20000' },
        { date_start => $d[3], campaign_id => 'c3',
          campaign_name => 'brand_x', spend => '5000' } ] } } });
# the NBK: rates on the first and the last day only (the two between: a
# weekend); the yen per 100, as the NBK quotes it
fake_control('rates', { ru($d[0]) => { USD => ['470.00', 1],
    JPY => ['3.05', 100] }, ru($d[3]) => { USD => ['480.00', 1] } });

# The sales of the period, through nginx and the pool.
my $T = time;
my $id = 70000000;
sub sale {
    my (%f) = @_;
    my $r = post_form('/webhook/amocrm/traffic', lead_form(
        pipeline_id => 10418746, status_id => 142, %f));
    is($r->{status}, 200, "lead $f{id}: 200") or diag($r->{content});
}
sale(id => 70000001, price => 300000, utm_campaign => 'tripwire_x',
    updated_at => $T - 100);
sale(id => 70000001, price => 350000, utm_campaign => 'tripwire_x',
    updated_at => $T - 50, event => 'update');                # corrected
sale(id => 70000002, price => 200000, utm_campaign => 'kenesary_y',
    updated_at => $T - 100);
sale(id => 70000002, status_id => 143, updated_at => $T - 50); # reversed
sale(id => 70000003, price => 50000, utm_campaign => 'arystan_a',
    updated_at => $T - 100);
sale(id => 70000004, price => 1000, utm_campaign => 'zzz',
    updated_at => $T - 100);

# The sync.
my $t0 = time;
($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
    TRAFFIC_ENV_FILE => $envfile);
is($rc, 0, 'ads sync: exit 0') or diag($out);
like($out, qr/^ads: 6 campaign days from 2 accounts \(0 failed\), 2 rates stored$/m,
    'six campaign days, two rates') or diag($out);
cmp_ok(time - $t0, '>=', 1, 'the throttle waited out');
like($out, qr/throttled for a while/, 'and said');
like($out, qr/^ads: \Q$d[2]\E has no USD rate of its own: \Q$d[0]\E's applies$/m,
    'a weekend day takes the latest rate before it, and says so');
unlike($out, qr/^ads: \Q$d[0]\E has no USD rate of its own/m,
    'a day with its own rate says nothing of the kind');
is(psql("SELECT count(*) FROM ad_spend"), 6, 'six rows in ad_spend');
is(psql("SELECT string_agg(DISTINCT targetologist, ',' ORDER BY"
    . " targetologist) FROM ad_spend"), 'Arystan,Kenesary,Unknown',
    'attributed: the mapped account, a name match, nobody');
my @reqs = grep { $_->{path} =~ /insights/ } fake_requests();
cmp_ok(scalar @reqs, '>=', 4, scalar(@reqs) . ' insights requests (pages'
    . ' and the throttled one)');
is(scalar(grep { index($_->{path}, $token) >= 0 || $_->{path} =~ /access_token/ }
    @reqs), 0, 'the token in no URL (a next page\'s access_token dropped)');
is(scalar(grep { ($_->{headers}{authorization} // '') eq "Bearer $token" }
    @reqs), scalar @reqs, 'but in every request\'s Authorization header');
unlike($out, qr/\Q$token\E/, 'nor in the output');

# Facebook revises a day: the second sync replaces it, never adds.
my %revised = (
    act_111 => { currency => 'USD', rows => [ map { { date_start =>
        $_->[0], campaign_id => "c1-$_->[0]", campaign_name => 'x',
        spend => "$_->[1]" } } @usd ] },
    act_222 => { currency => 'KZT', rows => [
        { date_start => $d[0], campaign_id => 'c2',
          campaign_name => 'arystan_spring', spend => '22000' },
        { date_start => $d[3], campaign_id => 'c3',
          campaign_name => 'brand_x', spend => '5000' } ] });
fake_control('facebook', { accounts => \%revised });
($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
    TRAFFIC_ENV_FILE => $envfile);
is($rc, 0, 'a second sync') or diag($out);
is(psql("SELECT count(*) || ' ' || sum(spend) FILTER (WHERE campaign_id ="
    . " 'c2') FROM ad_spend"), '6 22000.00', 'the revised day replaced');

# ROI, computed here: spend in tenge at each day's rate, the weekend at
# the Friday's; revenue as the dashboard has it (350000 corrected, the
# reversed 200000 out).
my %spend = (Kenesary => 100 * 470 + 50 * 470 + 25.5 * 470 + 10 * 480,
    Arystan => 22000, Unknown => 5000, Muha => 0);
my %sales = (Kenesary => [1, 350000], Arystan => [1, 50000],
    Unknown => [1, 1000], Muha => [0, 0]);
sub r2 { my $v = sprintf('%.2f', $_[0] + ($_[0] >= 0 ? 1e-9 : -1e-9));
    $v =~ s/\.?0+$//; $v }
sub expect {
    my ($who, $n, $rev, $sp) = @_;
    return join ',', $who, $n, r2($rev), r2($sp),
        $sp ? r2(($rev - $sp) / $sp * 100) : '', $sp ? r2($rev / $sp) : '',
        $sp && $n ? r2($sp / $n) : '';
}
my @want = ('targetologist,sales,revenue_kzt,spend_kzt,roi_pct,roas,cpa_kzt');
my ($tn, $trev, $tsp) = (0, 0, 0);
for my $who (qw(Kenesary Arystan Muha Unknown)) {
    push @want, expect($who, @{ $sales{$who} }, $spend{$who});
    $tn += $sales{$who}[0];
    $trev += $sales{$who}[1];
    $tsp += $spend{$who};
}
push @want, expect('TOTAL', $tn, $trev, $tsp);
($rc, $out) = ctl(['roi', '--from', $d[0], '--to', $d[3], '--csv'],
    TRAFFIC_ENV_FILE => $envfile);
is($rc, 0, 'roi --csv: exit 0') or diag($out);
is($out, join("\n", @want) . "\n", 'every figure as computed here: the'
    . ' rules\' order, Unknown, TOTAL; empty where undefined')
    or diag($out);
# a name from before (the old handler's rows) with a comma and quotes: one
# CSV field
psql("INSERT INTO all_sales_tracking (lead_id, sale_amount, targetologist,"
    . " sale_date, webhook_received_at) VALUES (70000099, 7000,"
    . " 'Old, \"Team\"', '$d[1] 12:00+05', now())");
($rc, $out) = ctl(['roi', '--from', $d[0], '--to', $d[3], '--csv'],
    TRAFFIC_ENV_FILE => $envfile);
like($out, qr/^"Old, ""Team""",1,7000,/m, 'a name with a comma and quotes,'
    . ' quoted as CSV quotes') or diag($out);
psql("DELETE FROM all_sales_tracking WHERE lead_id = 70000099");
# the sales unreadable (the spend still is): an error, never zeros
psql('ALTER TABLE all_sales_tracking RENAME TO all_sales_away');
($rc, $out) = ctl(['roi', '--from', $d[0], '--to', $d[3], '--csv'],
    TRAFFIC_ENV_FILE => $envfile);
psql('ALTER TABLE all_sales_away RENAME TO all_sales_tracking');
ok($rc != 0 && $out =~ /all_sales_tracking/ && $out !~ /^Kenesary,/m,
    'sales the database will not read: an error naming them, no figures')
    or diag($out);

($rc, $out) = ctl(['roi', '--from', $d[0], '--to', $d[3]],
    TRAFFIC_ENV_FILE => $envfile);
like($out, qr/^Muha\t0\t0\t0\t-\t-\t-\t$/m, 'no spend: "-", never 0 or'
    . ' infinity') or diag($out);
like($out, qr/^Arystan\t1\t50000\t22000\t127\.27\t2\.27\t22000\tbelow the ROI target$/m,
    'below ROI_TARGET_PCT (300): marked');
like($out, qr/^rates: USD 470 per 1 \(nbk \Q${\ ru($d[0])}\E, also for later days without a rate\); USD 480 per 1 \(nbk \Q${\ ru($d[3])}\E\)$/m,
    'the rates used, and where from');

# /metrics: spend and revenue per targetologist, today and this month, and
# the last good sync's time, read back through Prometheus' parser.
my $month = psql("SELECT date_trunc('month', '$today'::date)::date");
my %usd_day = map { $_->[0] => $_->[1] } @usd;
my $k_month = 0;
for my $day (@d) {
    next if $day lt $month;
    $k_month += $usd_day{$day} * ($day eq $d[3] ? 480 : 470);
}
my $r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
is($r->{status}, 200, '/metrics: 200');
my ($prc, $parsed) = run_cmd(['/usr/bin/python3',
    srcdir() . '/t/lib/promparse.py'], stdin => $r->{content});
is($prc, 0, 'Prometheus\' parser takes it') or diag($parsed);
my $m = eval { JSON::PP::decode_json($parsed) } || {};
sub gauge {
    my ($family, %l) = @_;
    for my $s (@{ $m->{$family}{samples} || [] }) {
        return $s->[2] unless grep { ($s->[1]{$_} // '') ne $l{$_} } keys %l;
    }
    return undef;
}
is(gauge('traffic_webhook_ad_spend_kzt', targetologist => 'Kenesary',
    period => 'day'), 4800, 'spend today: Kenesary\'s 10 USD at 480');
is(gauge('traffic_webhook_ad_spend_kzt', targetologist => 'Kenesary',
    period => 'month'), $k_month, "spend this month: $k_month");
is(gauge('traffic_webhook_revenue_kzt', targetologist => 'Kenesary',
    period => 'day'), 350000, 'revenue today: the corrected price');
is(gauge('traffic_webhook_ad_spend_kzt', targetologist => 'Muha',
    period => 'day'), 0, 'a targetologist without spend: 0, listed');
cmp_ok(gauge('traffic_webhook_ads_last_sync_timestamp_seconds') // 0, '>',
    time - 120, 'the last good sync: just now');

# The status page: ROI, ROAS and spend next to revenue, per period, and
# the month's ROI chart.
$r = http('GET', '/admin/', undef, Authorization => 'Basic '
    . MIME::Base64::encode_base64("team:$admin", ''));
is($r->{status}, 200, 'the status page') or diag($r->{content});
my $page = Encode::decode('UTF-8', $r->{content});
my ($roi_table) = $page =~ m{(<table id="roi">.*?</table>)}s;
my ($kday) = ($roi_table // '') =~ m{<tr data-targetologist="Kenesary"><td>Kenesary</td>(<td[^>]*data-period="day"[^>]*>)};
my ($kroi, $kroas) = (r2((350000 - 4800) / 4800 * 100), r2(350000 / 4800));
like($kday // '', qr/data-roi="\Q$kroi\E" data-roas="\Q$kroas\E" data-spend="4800" data-revenue="350000"/,
    'Kenesary today: ROI, ROAS, spend, revenue') or diag($kday);
like($roi_table // '', qr{<tr data-targetologist="Unknown"><td>Unknown</td><td class="r bad" data-period="day" data-label="Сегодня" data-roi="-80"},
    'Unknown below the goal: marked');
like($page, qr{<figure id="roi-chart">}, 'the month\'s ROI chart');
like($page, qr{<p class="muted" id="rates">Курс: USD 4[78]0 ₸}, 'the rates'
    . ' used');

# In a real browser at both widths: the ROI table and chart fit the
# screen, and say the same figures.
SKIP: {
    skip 'no /usr/bin/chromium', 4 unless -x '/usr/bin/chromium';
    my $probe = <<'JS';
(() => {
    const q = (s) => Array.from(document.querySelectorAll(s));
    return {
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        roi: q('#roi tr[data-targetologist] td[data-period]').map((td) => ({
            who: td.parentElement.dataset.targetologist,
            period: td.dataset.period, roi: td.dataset.roi,
            spend: td.dataset.spend, text: td.textContent })),
        bars: q('#roi-chart rect').length,
        past: q('td, th, figure').filter((e) =>
            e.getBoundingClientRect().right >
            document.documentElement.clientWidth + 1).map((e) =>
            e.tagName + ' ' + (e.closest('table') || {}).id + ' '
            + e.textContent.slice(0, 30)),
        outside: q('td, th, figure').filter((e) =>
            e.getBoundingClientRect().right >
            document.documentElement.clientWidth + 1).length,
    };
})()
JS
    my ($brc, $bout) = run_cmd(['node', '--experimental-websocket',
        srcdir() . '/t/lib/browse.js', '--url',
        "http://127.0.0.1:$port/admin/", '--user', 'team', '--password',
        $admin, '--out', builddir() . '/t/070-roi', '--width',
        'desktop:1280x900', '--width', 'phone:390x844', '--probe', $probe,
        '--timeout', 60]);
    is($brc, 0, 'Chromium opened the page') or diag($bout);
    my ($json) = $bout =~ /^(\[.*\])$/m;
    my $pages = eval { JSON::PP::decode_json($json // '') } || [];
    for my $p (@$pages) {
        my $dom = $p->{dom};
        my ($cell) = grep { $_->{who} eq 'Kenesary' && $_->{period} eq 'day' }
            @{ $dom->{roi} || [] };
        is(($cell->{roi} // '') . ' ' . ($cell->{spend} // ''), "$kroi 4800",
            "$p->{name}: Kenesary's ROI today, as computed here");
        is($dom->{outside} . ' ' . ($dom->{scrollWidth} <= $dom->{clientWidth}
            ? 'fits' : 'scrolls'), '0 fits', "$p->{name}: nothing past the"
            . ' screen\'s edge') or diag(join "\n", @{ $dom->{past} || [] });
    }
}

# The daily digest adds the day's ROI, sorted by it, marks who is below
# ROI_TARGET_PCT, and names the rate used: today, only the last day's
# spend counts (Kenesary's 10 USD at 480, Unknown's 5000 KZT).
sub money { my $v = reverse sprintf('%.0f', $_[0]); $v =~ s/(\d{3})(?=\d)/$1,/g;
    return scalar(reverse $v) . " \x{20B8}" }
# (a former targetologist's campaign that spent nothing that day is no line)
psql("INSERT INTO ad_spend (day, account_id, campaign_id, targetologist,"
    . " spend, currency) VALUES ('$d[3]', 'act_333', 'c0', 'Former', 0, 'KZT')");
($rc, $out) = ctl(['digest', '--date', $d[3], '--dry-run'],
    TRAFFIC_ENV_FILE => $envfile);
psql("DELETE FROM ad_spend WHERE account_id = 'act_333'");
is($rc, 0, 'digest --dry-run: exit 0') or diag($out);
my $text = Encode::decode('UTF-8', $out);
my @roi = grep { /ROI|расход|Курс/ } split /\n/, $text;
my $k = 10 * 480;
is_deeply(\@roi, [
    "\x{1F4C8} ROI за @{[ join '.', reverse split /-/, $d[3] ]} (цель 300%):",
    "\x{1F451} Kenesary: ROI " . sprintf('%.0f', (350000 - $k) / $k * 100)
        . "% \x{B7} расход " . money($k) . " \x{B7} выручка " . money(350000),
    "\x{2753} Unknown: ROI -80% \x{B7} расход " . money(5000)
        . " \x{B7} выручка " . money(1000)
        . " \x{26A0}\x{FE0F} ниже цели \x{2014} проверь таргетинг",
    "\x{1F981} Arystan: расходов нет",
    "\x{1F680} Muha: расходов нет",
    "\x{1F4B0} Всего: ROI " . sprintf('%.0f', (401000 - $k - 5000)
        / ($k + 5000) * 100) . "% \x{B7} расход " . money($k + 5000)
        . " \x{B7} выручка " . money(401000),
    "\x{1F4B1} Курс: USD 480 \x{20B8} (НБ РК, @{[ ru($d[3]) ]})",
    ], 'the digest\'s ROI block: by ROI, below the goal marked, the rate')
    or diag($text);
($rc, $out) = ctl(['digest', '--date', $d[3], '--dry-run'],
    TRAFFIC_ENV_FILE => $envfile, DIGEST_ROI_DAY => 'yesterday');
like(Encode::decode('UTF-8', $out), qr/ROI за \Q${\ ru($d[2])}\E .*\n.*Kenesary: ROI -100% \x{B7} расход \Q${\ money(25.5 * 470)}\E/,
    'DIGEST_ROI_DAY=yesterday: the day before, its Friday rate');

# An unknown account is named, the others still read; an expired token
# fails the sync, and nothing changes.
($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
    TRAFFIC_ENV_FILE => $envfile,
    FACEBOOK_AD_ACCOUNTS => 'act_999,act_222');
is($rc, 1, 'an unknown account: exit 1');
like($out, qr/bad ad account act_999: code 100/, 'the account named');
like($out, qr/act_222: 2 campaign days/, 'the other account still read');
# FACEBOOK_AD_ACCOUNTS that is not act_ID[:Targetologist], entry by entry:
# refused before any request, naming the entry.
for my $bad ('act_', 'act_12a', 'acc_123', 'act_1:', 'act_' . '1' x 40,
             'act_1:' . 'N' x 200, 'act_222, 123') {
    my $n = () = fake_requests();
    ($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
        TRAFFIC_ENV_FILE => $envfile, FACEBOOK_AD_ACCOUNTS => $bad);
    my $entry = (split /, /, $bad)[-1];
    ok($rc != 0 && $out =~ /FACEBOOK_AD_ACCOUNTS: "\Q${\ substr($entry, 0, 60)}\E" is not act_ID/,
        "FACEBOOK_AD_ACCOUNTS=\"${\ substr($bad, 0, 20)}\": refused, naming it")
        or diag($out);
    is(scalar(() = fake_requests()), $n, '... before asking Facebook');
    ($rc, $out) = ctl(['check', '--config-only'], TRAFFIC_ENV_FILE => $envfile,
        FACEBOOK_AD_ACCOUNTS => $bad);
    like($out, qr/^problem: FACEBOOK_AD_ACCOUNTS: "/m,
        '... and traffic-ctl check says it first');
}
($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
    TRAFFIC_ENV_FILE => $envfile, FACEBOOK_AD_ACCOUNTS => ' , ');
ok($rc != 0 && $out =~ /FACEBOOK_AD_ACCOUNTS names no ad account/,
    'FACEBOOK_AD_ACCOUNTS of commas only: refused') or diag($out);
($rc, $out) = ctl(['check', '--config-only'], TRAFFIC_ENV_FILE => $envfile,
    FACEBOOK_AD_ACCOUNTS => ' , ');
ok($rc != 0 && $out =~ /^problem: FACEBOOK_ADS_TOKEN is set and FACEBOOK_AD_ACCOUNTS names no ad account/m,
    'and check says so') or diag($out);
($rc, $out) = ctl(['check', '--config-only'], TRAFFIC_ENV_FILE => $envfile);
unlike($out, qr/^problem: .*FACEBOOK_AD/m, 'check takes the good ones');
# Facebook's other throttle codes (400 with 4, 17, 32, 613, 80000 to
# 80014): waited out and asked again, the spend read all the same.
for my $code (4, 17, 613, 80014) {
    fake_control('facebook', { throttle => 1, throttle_code => $code });
    ($rc, $out) = ctl(['ads', 'sync', '--since', $d[3], '--until', $d[3]],
        TRAFFIC_ENV_FILE => $envfile);
    ok($rc == 0 && $out =~ /throttled for a while/,
        "throttle code $code: waited out, then read") or diag($out);
}
fake_control('facebook', { throttle => 0, throttle_code => 80004 });
# A row Facebook should never send: the account's sync fails, naming it,
# and its stored spend stays as it was.
my $kept = psql("SELECT count(*) || ' ' || sum(spend) FROM ad_spend");
for my $row ({ date_start => $d[3], spend => '1' },
             { date_start => "$d[2]T", campaign_id => 'c9', spend => '1' },
             { date_start => $d[3], campaign_id => 'c9', spend => 'lots' },
             { date_start => $d[3], campaign_id => 'c9' }) {
    fake_control('facebook', { accounts => { act_222 => { currency => 'KZT',
        rows => [$row] } } });
    ($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
        TRAFFIC_ENV_FILE => $envfile, FACEBOOK_AD_ACCOUNTS => 'act_222');
    ok($rc != 0 && $out =~ /a row without a day, campaign or spend/,
        'a row of ' . join(',', sort keys %$row) . ': refused') or diag($out);
}
is(psql("SELECT count(*) || ' ' || sum(spend) FROM ad_spend"), $kept,
    'and nothing stored changed');
is(psql("SELECT count(*) FROM ads_sync_runs WHERE error LIKE '%a row"
    . " without%'"), 4, 'each refused sync recorded with its error');
fake_control('facebook', { accounts => \%revised });
fake_control('facebook', { expired => JSON::PP::true() });
($rc, $out) = ctl(['ads', 'sync', '--since', $d[0], '--until', $d[3]],
    TRAFFIC_ENV_FILE => $envfile);
is($rc, 1, 'an expired token: exit 1');
like($out, qr/code 190: Error validating access token/, 'said');
is(psql("SELECT count(*) || ' ' || sum(spend) FROM ad_spend"),
    '6 27185.50', 'nothing changed');
is(psql("SELECT count(*) FROM ads_sync_runs WHERE error IS NOT NULL"), 6,
    'each failed run recorded with its error (the unknown account, four'
    . ' odd rows, the expired token)');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
like($out, qr/^problem: Facebook refuses FACEBOOK_ADS_TOKEN \(expired or revoked\)/m,
    'check says the token expired') or diag($out);
is(psql("SELECT count(*) FROM traffic_alerts WHERE alert = 'ads'"), 1,
    'the ads alert has its row');

# The deliver sidecar syncs by itself, once across hosts: two sidecars,
# one sync in ADS_SYNC_INTERVAL_S.
fake_control('facebook', { expired => JSON::PP::false() });
my $runs = psql("SELECT count(*) FROM ads_sync_runs");
my $sidecar = write_env(TARGETOLOGISTS_FILE => "$dir/rules.conf",
    FACEBOOK_ADS_TOKEN => $token,
    FACEBOOK_AD_ACCOUNTS => 'act_111:Kenesary, act_222',
    FACEBOOK_API_BASE => "$api/v21.0", RATES_API_BASE => "$api/rss",
    DIGEST_TZ => 'Asia/Almaty', ADS_SYNC_INTERVAL_S => 3600,
    DIGEST_AT => 'off', RECONCILE_INTERVAL_S => 0);
my @sidecars = (start_deliver(env_file => $sidecar),
    start_deliver(env_file => $sidecar, log => 'deliver2.log'));
ok(wait_for('the sidecar\'s sync', sub { psql("SELECT count(*) FROM"
    . " ads_sync_runs WHERE finished_at IS NOT NULL AND error IS NULL AND"
    . " id > (SELECT max(id) FROM ads_sync_runs WHERE error IS NOT NULL)")
    >= 1 }, 30), 'a sidecar synced by itself');
sleep 2;
is(psql("SELECT count(*) FROM ads_sync_runs") - $runs, 1, 'once, though'
    . ' two sidecars run');
my $holder = psql("SELECT holder FROM traffic_leases WHERE name = 'ads'");
ok((grep { $holder eq Sys::Hostname::hostname() . ":$_" } @sidecars),
    "the lease names the host and the sidecar that took it: $holder");
like(deliver_log() . slurp("$dir/deliver2.log"), qr/^<?\d?>?ads: \d+ campaign days, \d+ rates$/m,
    'and said so');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
unlike($out, qr/^problem: .*FACEBOOK_ADS_TOKEN/m, 'check no longer complains');

($rc, $out) = ctl(['ads', 'sync'], TRAFFIC_ENV_FILE => $envfile,
    FACEBOOK_ADS_TOKEN => '');
isnt($rc, 0, 'without a token: nothing runs');
like($out, qr/FACEBOOK_ADS_TOKEN is not set/, 'and says why');

# A month of daily rates: every one is named, none cut off.
psql("INSERT INTO fx_rates (day, currency, rate, source) SELECT d, 'USD',"
    . " 400 + extract(day FROM d), 'nbk ' || to_char(d, 'DD.MM.YYYY') FROM"
    . " generate_series('2025-01-01'::date, '2025-01-31', '1 day') d");
psql("INSERT INTO ad_spend (day, account_id, campaign_id, targetologist,"
    . " spend, currency) SELECT d, 'act_111', 'm' || d, 'Kenesary', 1, 'USD'"
    . " FROM generate_series('2025-01-01'::date, '2025-01-31', '1 day') d");
($rc, $out) = ctl(['roi', '--from', '2025-01-01', '--to', '2025-01-31'],
    TRAFFIC_ENV_FILE => $envfile);
my ($used) = $out =~ /^rates: (.*)$/m;
is(scalar(() = ($used // '') =~ /USD \d+ per 1 \(nbk \d\d\.01\.2025\)/g), 31,
    'a month of daily rates: all 31 named') or diag($out);
like($out, qr/^Kenesary\t0\t0\t12896\t/m, 'and each day\'s spend at its own'
    . ' rate (31 USD, 401 to 431 KZT)');
done_testing();
