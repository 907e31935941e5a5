# The 38 real AmoCRM bodies of shared/corpus: each answered 200 through
# nginx without a sale (none is in the configured pipeline); then each run
# through the handler under a configuration whose pipeline and status are
# those of its first lead: that lead becomes a sale with the body's own id,
# name and price.
use strict;
use warnings;
use lib 't/lib';
use File::Basename qw(basename);
use JSON::PP;
use Test::More;
use TrafficTest;

start_pg();
migrate();
start_pool(workers => 2);
start_nginx();
my @bodies = corpus_bodies();
is(scalar @bodies, 38, '38 corpus bodies');

for my $f (@bodies) {
    my $body = slurp($f) =~ s/\s+\z//r;
    my $r = http('POST', '/webhook/amocrm/traffic', $body,
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 200, basename($f) . ': 200') or diag($r->{content});
}
is(psql('SELECT count(*) FROM sales_notifications'), 0,
    'no sale: none is in pipeline 10418746');
is(psql("SELECT count(*) FROM webhook_logs WHERE processing_status = 'error'"),
    0, 'no error rows');
my @pids = worker_pids();
is(scalar @pids, 2, 'both workers alive');

sub decode {
    my ($s) = @_;
    $s =~ tr/+/ /;
    $s =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge;
    return $s;
}

# The first lead of a body, as PHP would read it.
sub first_lead {
    my ($body) = @_;
    my %kv;
    for my $pair (split /&/, $body) {
        my ($k, $v) = map { decode($_) } split /=/, $pair, 2;
        $kv{$k} = $v // '';
    }
    for my $ev (qw(status update add)) {
        my $p = "leads[$ev][0]";
        next unless exists $kv{"${p}[id]"};
        return { map { $_ => $kv{"${p}[$_]"} }
            qw(id name price pipeline_id status_id) };
    }
    return;
}

my $n = 0;
for my $f (@bodies) {
    my $body = slurp($f) =~ s/\s+\z//r;
    my $lead = first_lead($body) or next;
    next unless $lead->{pipeline_id} && $lead->{status_id};
    $n++;
    # several captures are deliveries for the same lead: start clean
    psql("DELETE FROM sales_notifications WHERE lead_id = $lead->{id};"
        . " DELETE FROM all_sales_tracking WHERE lead_id = $lead->{id}");
    my $env = write_env(AMOCRM_PIPELINE_ID => $lead->{pipeline_id},
        AMOCRM_STATUS_ID => $lead->{status_id});
    my $ans = cgi_run($body, TRAFFIC_ENV_FILE => $env);
    my $j = eval { decode_json($ans->{content}) } || {};
    my $name = basename($f);
    # (its rows just deleted: a new sale, never a duplicate)
    ok($ans->{status} == 200 && ($j->{results}{processed} // 0) >= 1,
        "$name: its first lead is a sale")
        or diag($ans->{raw});
    my $price = $lead->{price};
    $price = 'NULL' if !defined $price || $price eq '';
    $price .= '.00' if $price ne 'NULL' && $price !~ /\./;
    my $lname = defined $lead->{name} && $lead->{name} ne '' ? $lead->{name}
        : 'NULL';
    is(psql("SELECT coalesce(lead_name, 'NULL') || '|' || coalesce("
        . "sale_amount::text, 'NULL') FROM sales_notifications WHERE lead_id"
        . " = $lead->{id}"), "$lname|$price",
        "$name: lead $lead->{id} stored with its own name and price");
}
cmp_ok($n, '>=', 25, "$n bodies with a lead in status/update/add");
done_testing();
