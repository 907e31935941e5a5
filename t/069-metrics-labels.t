# A targetologist's name is a label of /metrics: names with a quote and a
# backslash (a rules file allows them) are escaped so that Prometheus' own
# parser reads back exactly the name, and the counters under it are right.
use strict;
use warnings;
use utf8;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output);

my $admin = 'labels-admin-0123456789abcdef';
my $dir = tmpdir();
my $odd = 'Qu"ote\\Back';
open my $fh, '>:utf8', "$dir/rules.conf" or die;
print $fh "$odd | \x{1F170} | qb_\nPlain | P | plain_\nUnknown | ? |\n";
close $fh;
start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $envfile = write_env(ADMIN_TOKEN => $admin,
    TARGETOLOGISTS_FILE => "$dir/rules.conf");
start_pool(workers => 2, env_file => $envfile, sidecar => 0);
start_nginx();

my %want = ($odd => 0, Plain => 0, Unknown => 0);
my %amount = %want;
my $id = 69000000;
for my $s ([qb_1 => 1000], [qb_2 => 2500], [plain_x => 700], [zzz => 50]) {
    my $r = post_form('/webhook/amocrm/traffic', lead_form(id => ++$id,
        status_id => 142, pipeline_id => 10418746, price => $s->[1],
        utm_campaign => $s->[0]));
    is($r->{status}, 200, "sale $id ($s->[0]): 200") or diag($r->{content});
    my $who = $s->[0] =~ /^qb_/ ? $odd : $s->[0] =~ /^plain_/ ? 'Plain'
        : 'Unknown';
    $want{$who}++;
    $amount{$who} += $s->[1];
}

my $r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
is($r->{status}, 200, '/metrics: 200');
like($r->{content}, qr/targetologist="Qu\\"ote\\\\Back"/,
    'the name escaped as the text format asks');
my ($prc, $parsed) = run_cmd(['/usr/bin/python3',
    srcdir() . '/t/lib/promparse.py'], stdin => $r->{content});
is($prc, 0, 'Prometheus\' parser takes it') or diag($parsed);
my $m = eval { decode_json($parsed) } || {};
my (%sales, %cents);
for my $s (@{ $m->{traffic_webhook_sales}{samples} || [] }) {
    $sales{ $s->[1]{targetologist} } = $s->[2] if $s->[0] =~ /_total$/;
}
for my $s (@{ $m->{traffic_webhook_sales_amount}{samples} || [] }) {
    $cents{ $s->[1]{targetologist} } = $s->[2] if $s->[0] =~ /_total$/;
}
is_deeply(\%sales, \%want, 'sales by targetologist, every label read back'
    . ' exactly') or diag(explain \%sales);
is_deeply(\%cents, \%amount, 'and their amounts') or diag(explain \%cents);
done_testing();
