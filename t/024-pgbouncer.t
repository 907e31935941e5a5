# Behind a transaction pooler.  The workers prepare the sale path's
# statements once per session; PgBouncer in transaction mode (1.18, which
# does not carry prepared statements) hands each transaction a different
# server connection, so a prepared statement goes missing.  The worker must
# notice, go on with plain statements, and lose or fail no sale.
use strict;
use warnings;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);

# PgBouncer between the pool and PostgreSQL
my $env = write_env(DATABASE_URL => start_pgbouncer());
start_pool(workers => 2, env_file => $env, sidecar => 0);
start_nginx();


# Four parallel posters, so the pooler's server connections change hands.
my $bad = in_parallel(4, sub {
    my ($k) = @_;
    return scalar grep {
        my $r = post_sale(24000000 + $k * 100 + $_);
        $r->{status} != 200 || $r->{content} !~ /"processed":1/
            || $r->{content} =~ /"queued"/;
    } 1 .. 10;
});
is($bad, 0, '40 sales through the pooler: each 200 and stored, none spooled');
is(psql("SELECT count(*), count(DISTINCT lead_id) FROM sales_notifications"
    . " WHERE lead_id BETWEEN 24000000 AND 24000999"), '40|40',
    'all 40 stored once');
is(psql("SELECT count(*) FROM webhook_logs WHERE lead_id BETWEEN 24000000"
    . " AND 24000999 AND processing_status = 'success'"), 40,
    'each with its success log row');
is(post_sale(24000001)->{content} =~ /"duplicates":1/ ? 1 : 0, 1,
    'a duplicate is still recognised');
unlike(pool_log(), qr/statement failed|queued|spool/i,
    'no statement failed and nothing was spooled');

done_testing();
