# Two ways to one schema: a fresh database takes sql/baseline-018.sql (the
# migrations squashed), an existing one the migrations; both end with the
# same schema, function bodies, policies and seed rows included, whatever
# migration the upgrade starts from.  Every function has one definition
# (sql/functions/), which the migrations and the baseline load.
use strict;
use warnings;
use File::Basename qw(basename);
use File::Copy qw(copy);
use lib 't/lib';
use Test::More;
use TrafficTest;

my $sql = srcdir() . '/sql';
start_pg();
my ($sock) = pg_url() =~ /host=([^&]+)/;
my ($port) = pg_url() =~ /port=(\d+)/;
my $bin = (sort glob('/usr/lib/postgresql/*/bin'))[-1];
sub url { "postgresql:///$_[0]?host=$sock&port=$port&user=traffic" }

# A copy of sql/ holding the migrations up to $upto and the functions, no
# baseline.
sub migrations_only {
    my ($name, $upto) = @_;
    my $dir = tmpdir() . "/$name";
    mkdir $dir or die;
    mkdir "$dir/functions" or die;
    for (glob("$sql/[0-9][0-9][0-9]_*.sql")) {
        copy($_, $dir) or die if substr(basename($_), 0, 3) le $upto;
    }
    copy($_, "$dir/functions") or die for glob("$sql/functions/*.sql");
    return $dir;
}

# The schema as pg_dump writes it (the session's random \restrict key out),
# and every row, times masked.
sub schema {
    my ($db) = @_;
    my ($rc, $out) = run_cmd(["$bin/pg_dump", '-s', '-h', $sock, '-p', $port,
        '-U', 'traffic', $db]);
    die "pg_dump: $out" if $rc;
    $out =~ s/^\\(un)?restrict .*\n//mg;
    return $out;
}
sub rows {
    my ($db) = @_;
    my ($rc, $out) = run_cmd(["$bin/pg_dump", '-a', '-h', $sock, '-p', $port,
        '-U', 'traffic', $db]);
    die "pg_dump: $out" if $rc;
    $out =~ s/^\\(un)?restrict .*\n//mg;
    $out =~ s/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?\+00/TIME/g;
    # the rows of each table in order, whatever order they were written in
    $out =~ s/(FROM stdin;\n)(.*?)(^\\\.)/$1 . join('', sort split
        m{(?<=\n)}, $2) . $3/gmse;
    return $out;
}

# two dumps equal, or their diff
sub same {
    my ($got, $want, $name) = @_;
    return pass($name) if $got eq $want;
    my $dir = tmpdir();
    spew("$dir/got.sql", $got);
    spew("$dir/want.sql", $want);
    fail($name);
    diag(scalar run_cmd(['diff', '-u', "$dir/want.sql", "$dir/got.sql"]));
}

# a fresh database (another application's table in it, as on Supabase)
psql('CREATE TABLE profiles (id uuid PRIMARY KEY)');
my ($rc, $out) = migrate();
is($rc, 0, 'a fresh database is migrated') or diag($out);
like($out, qr/^applied baseline-018\.sql \(migrations 001 to 018\)$/m,
    'it takes the baseline, for migrations 001 to 018');
unlike($out, qr/applied 0\d\d_/, 'and no migration one by one');
is(psql("SELECT string_agg(version, ',' ORDER BY version) FROM"
    . " schema_migrations"), join(',', map { sprintf '%03d', $_ } 1 .. 18),
    'the migrations it holds are recorded');
($rc, $out) = migrate();
like($out, qr/schema is up to date \(18 migrations\)/, 'nothing is pending')
    or diag($out);
psql('DROP TABLE profiles');

# the migrations, one by one, on another database
psql('CREATE DATABASE stepwise');
($rc, $out) = ctl(['migrate', '--sql-dir', migrations_only('steps', '018')],
    DATABASE_URL => url('stepwise'));
is($rc, 0, 'the migrations apply one by one') or diag($out);
is(scalar(() = $out =~ /^applied 0\d\d_/mg), 18, 'all 18 of them')
    or diag($out);

my $fresh = schema('traffic');
like($fresh, qr/CREATE FUNCTION public\.traffic_outbox_record\(/,
    'the dump holds the functions');
like($fresh, qr/CREATE POLICY traffic_service_traffic ON public\.ad_spend/,
    'and the policies');
same($fresh, schema('stepwise'),
    'the baseline and the migrations give the same schema, bodies included');
same(rows('traffic'), rows('stepwise'), 'and the same rows');

# an upgrade from 006, with the baseline in the folder: the migrations go on
psql('CREATE DATABASE upgraded');
($rc, $out) = ctl(['migrate', '--sql-dir', migrations_only('to6', '006')],
    DATABASE_URL => url('upgraded'));
is($rc, 0, 'a database at 006') or diag($out);
($rc, $out) = ctl(['migrate'], DATABASE_URL => url('upgraded'));
is($rc, 0, 'is upgraded with the shipped folder') or diag($out);
unlike($out, qr/baseline/, 'not through the baseline');
like($out, qr/applied 007_sale_life\.sql.*applied 018_ad_spend\.sql/s,
    'but migrations 007 to 018');
same(schema('upgraded'), $fresh, 'and ends with the same schema');
same(rows('upgraded'), rows('traffic'), 'and rows');

# psql reads the same files (\ir is its include)
psql('CREATE DATABASE by_psql');
($rc, $out) = run_cmd(["$bin/psql", '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f',
    "$sql/baseline-018.sql", url('by_psql')]);
is($rc, 0, 'psql -f applies the baseline') or diag($out);
same(schema('by_psql'), $fresh, 'to the same schema');

# one home for each function
my %defined;
for my $f (glob("$sql/*.sql"), glob("$sql/functions/*.sql")) {
    my $text = slurp($f);
    $defined{$1}{ basename($f) }++
        while $text =~ /^CREATE (?:OR REPLACE )?FUNCTION (?!pg_temp\.)(\w+)/mg;
}
my @functions = map { basename($_, '.sql') } glob("$sql/functions/*.sql");
is_deeply([sort keys %defined], [sort @functions],
    'every function of the schema has a file of its own in sql/functions');
is_deeply([grep { join(',', keys %{ $defined{$_} }) ne "$_.sql" }
    sort keys %defined], [], 'and is defined nowhere else');
my $base = slurp("$sql/baseline-018.sql");
is_deeply([grep { $base !~ /^\\ir functions\/$_\.sql$/m } @functions], [],
    'the baseline loads each one');
my $migrations = join '', map { slurp($_) } glob("$sql/0*.sql");
is_deeply([grep { $migrations !~ /^\\ir functions\/$_\.sql$/m } @functions],
    [], 'and a migration loads each one');

# an include that climbs out of functions/ is refused, nothing applied
my $bad = migrations_only('bad', '001');
spew("$bad/002_bad.sql", "\\ir ../../etc/passwd\n");
psql('CREATE DATABASE bad');
($rc, $out) = ctl(['migrate', '--sql-dir', $bad], DATABASE_URL => url('bad'));
isnt($rc, 0, 'an \\ir outside functions/ fails');
like($out, qr/002_bad\.sql: \\ir names a file of functions\//,
    'and says which file and why');
# the shortest name it takes (functions/a.sql) and the ones it does not
my $short = migrations_only('short', '001');
spew("$short/functions/a.sql", "CREATE FUNCTION short_one() RETURNS int"
    . " LANGUAGE sql AS 'SELECT 1';\n");
spew("$short/002_short.sql", "\\ir functions/a.sql  \n");
psql('CREATE DATABASE short');
($rc, $out) = ctl(['migrate', '--sql-dir', $short],
    DATABASE_URL => url('short'));
is($rc, 0, 'functions/a.sql (trailing blanks too) is included') or diag($out);
like(schema('short'), qr/FUNCTION public\.short_one\(\)/,
    'and its function made');
for my $name ('functions/.sql', 'functions/A.sql', 'functions/a.sqlx',
              'functions/a b.sql', 'functionsX/a.sql') {
    spew("$short/003_more.sql", "\\ir $name\n");
    ($rc, $out) = ctl(['migrate', '--sql-dir', $short],
        DATABASE_URL => url('short'));
    ok($rc != 0 && $out =~ /003_more\.sql: \\ir names a file of functions\//,
        "\\ir $name: refused") or diag($out);
}
done_testing();
