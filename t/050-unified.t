# The unified endpoint POST /webhook/amocrm: the same parsing and storage,
# plus a routing decision per sale, logged with source 'amocrm': referral
# (utm_source "ref_...", any case) records a conversion only; traffic (a
# targetologist matched) is a sale; unknown (UTM, no match) a sale for
# Unknown; both (no UTM) a sale and a conversion.  One conversion per lead.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
start_pool(workers => 2);
start_nginx();

my $p = 'leads%5Bstatus%5D%5B0%5D%5B';
sub body {
    my ($id, %utm) = @_;
    my $b = "${p}id%5D=$id&${p}status_id%5D=142&${p}pipeline_id%5D=10418746"
        . "&${p}price%5D=5000&${p}name%5D=Deal+$id";
    my $i = 0;
    for my $k (sort keys %utm) {
        my $cf = "${p}custom_fields%5D%5B$i%5D%5B";
        $b .= "&${cf}name%5D=$k&${cf}code%5D=" . uc($k)
            . "&${cf}values%5D%5B0%5D%5Bvalue%5D=$utm{$k}";
        $i++;
    }
    return $b . '&account%5Bsubdomain%5D=onaiagencykz';
}
sub post {
    my ($path, $b) = @_;
    my $r = http('POST', $path, $b,
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 200, "$path: 200") or diag($r->{content});
    return $r;
}

my @table = (
    # lead, utm, routing, sale?, conversion code (undef: none, '' NULL)
    [50000001, { utm_source => 'ref_anna', utm_campaign => 'tripwire_x' },
     'referral', 0, 'ref_anna'],
    [50000002, { utm_source => 'REF_BORIS' }, 'referral', 0, 'REF_BORIS'],
    [50000003, { utm_source => 'instagram', utm_campaign => 'tripwire_dec20' },
     'traffic', 'Kenesary', undef],
    [50000004, { utm_source => 'facebook', utm_campaign => 'spring_sale' },
     'unknown', 'Unknown', undef],
    [50000005, {}, 'both', 'Unknown', ''],
    [50000006, { utm_source => 'referral_program' }, 'unknown', 'Unknown', undef],
);
for my $t (@table) {
    my ($id, $utm, $routing, $sale, $code) = @$t;
    post('/webhook/amocrm', body($id, %$utm));
    is(psql("SELECT source || '|' || routing_decision || '|' ||"
        . " processing_status FROM webhook_logs WHERE lead_id = $id"),
        "amocrm|$routing|success", "$id: routed $routing, source amocrm");
    is(psql("SELECT coalesce(string_agg(targetologist, ','), 'none') FROM"
        . " sales_notifications WHERE lead_id = $id"), $sale || 'none',
        $sale ? "$id: a sale for $sale" : "$id: no sale");
    is(psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id = $id"),
        $sale ? 1 : 0, "$id: the dashboard agrees");
    if (defined $code) {
        is(psql("SELECT coalesce(referral_code, '') || '|' || amount || '|'"
            . " || lead_name || '|' || routing_decision FROM"
            . " referral_conversions WHERE lead_id = $id"),
            "$code|5000.00|Deal $id|$routing", "$id: a conversion");
    } else {
        is(psql("SELECT count(*) FROM referral_conversions WHERE lead_id = $id"),
            0, "$id: no conversion");
    }
}

# Repeats: one conversion and one sale per lead.
my $r = post('/webhook/amocrm', body(50000001, utm_source => 'ref_anna'));
like($r->{content}, qr/"duplicates":1/, 'a repeated referral: duplicate');
post('/webhook/amocrm', body(50000005));
is(psql("SELECT count(*) FROM referral_conversions WHERE lead_id IN"
    . " (50000001, 50000005)"), 2, 'still one conversion each');
is(psql("SELECT string_agg(processing_status, ',' ORDER BY id) FROM"
    . " webhook_logs WHERE lead_id = 50000005"), 'success,duplicate',
    'the repeat is logged as a duplicate');

# The traffic endpoint does not route: a ref_ sale is a sale there.
post('/webhook/amocrm/traffic', body(50000007, utm_source => 'ref_anna'));
is(psql("SELECT source || '|' || routing_decision FROM webhook_logs WHERE"
    . " lead_id = 50000007"), 'amocrm_traffic|traffic', 'traffic endpoint');
is(psql("SELECT count(*) FROM referral_conversions WHERE lead_id = 50000007"),
    0, 'no conversion there');

# Errors on the unified endpoint are logged under its source.
$r = http('POST', '/webhook/amocrm', '', 'Content-Type' =>
    'application/x-www-form-urlencoded');
is($r->{status}, 400, 'empty body: 400');
is(psql("SELECT source FROM webhook_logs WHERE processing_status = 'error'"),
    'amocrm', 'logged with source amocrm');
$r = http('GET', '/webhook/amocrm');
is($r->{status}, 405, 'GET: 405');

# The replay tool knows the unified endpoint too.
my $f = tmpdir() . '/ref.txt';
spew($f, body(50000008, utm_source => 'ref_cli'));
($rc, $out) = ctl(['replay', '--unified', $f]);
is($rc, 0, 'replay --unified') or diag($out);
is(psql("SELECT referral_code FROM referral_conversions WHERE lead_id ="
    . " 50000008"), 'ref_cli', 'a conversion from the replay');
done_testing();
