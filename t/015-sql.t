# Every SQL statement of the service prepares against the migrated schema,
# and the ones whose columns are read by name return them
# (t/unit/test-sql.c).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $prog = builddir() . '/t/unit/test-sql';
ok(-x $prog, 'test-sql is built') or BAIL_OUT('run make check-programs');
($rc, $out) = run_cmd([$prog],
    env => { DATABASE_URL => pg_url() });
my $seen = 0;
for (split /\n/, $out) {
    if (/^(not )?ok \d+ - (.*)$/) {
        ok(!$1, $2);
        $seen++;
    } elsif (/^#/) {
        diag($_);
    }
}
cmp_ok($seen, '>=', 30, 'the statements were tried');
is($rc, 0, 'test-sql exits 0');
done_testing();
