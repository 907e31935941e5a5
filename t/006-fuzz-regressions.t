# Replays the fuzz target over its seed inputs (every example body, both
# types) and every input a fuzzing run ever crashed on (fuzz/regressions/),
# so a fixed crash stays fixed.  Run under valgrind with TRAFFIC_VALGRIND=1.
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

my $dir = tmpdir();
my @inputs = glob(srcdir() . '/fuzz/regressions/*');
my $i = 0;
for my $f (sort(glob(shared() . '/spec/examples/*.txt'), corpus_bodies())) {
    my $body = slurp($f);
    spew("$dir/seed-form-$i", "\x00$body");
    spew("$dir/seed-json-$i", "\x01$body");
    push @inputs, "$dir/seed-form-$i", "$dir/seed-json-$i";
    $i++;
}
my @cmd = (builddir() . '/t/unit/fuzz-replay', @inputs);
unshift @cmd, 'valgrind', '-q', '--leak-check=full',
    '--errors-for-leak-kinds=definite,indirect', '--error-exitcode=99'
    if $ENV{TRAFFIC_VALGRIND};
# (not exec: the test's own cleanup runs after, removing the seed copies)
my $rc = system(@cmd);
die "cannot run $cmd[0]: $!\n" if $rc == -1;
exit($rc == 0 ? 0 : ($rc >> 8) || 1);
