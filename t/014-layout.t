# The shape of src/, as scripts/layout (anyone can run it) measures it from
# the sources: every #include "..." names a file of src/, no include cycle
# between modules (a module is a .c and its .h), no include that climbs a
# room (libtraffic/base, db, intake, outgoing, observe, router, then the
# programs: a module includes only from its own room and those before),
# and the longest chain of includes bounded.  The checker is tried on
# made-up trees first, so one that finds nothing cannot pass.
use strict;
use warnings;
use JSON::PP ();
use Test::More;
use lib 't/lib';
use TrafficTest;

my $layout = srcdir() . '/scripts/layout';

# A made-up tree: files => text; what scripts/layout --json says of it.
sub tree_of {
    my (%files) = @_;
    my $dir = tmpdir() . '/layout-' . int(rand(1e9));
    for my $f (sort keys %files) {
        (my $d = "$dir/$f") =~ s{/[^/]+$}{};
        system('mkdir', '-p', $d);
        spew("$dir/$f", $files{$f});
    }
    my ($rc, $out) = run_cmd([$layout, '--src', $dir, '--json']);
    return JSON::PP::decode_json($out);
}
my $t = tree_of('libtraffic/base/a.h' => qq{#include "base/b.h"\n},
    'libtraffic/base/b.h' => qq{#include "base/c.h"\n},
    'libtraffic/base/c.h' => qq{#include "base/a.h"\n});
is_deeply($t->{cycle}, [qw(libtraffic/base/a libtraffic/base/b
    libtraffic/base/c libtraffic/base/a)], 'a made-up loop is found');
$t = tree_of('libtraffic/base/a.h' => qq{#include "intake/b.h"\n},
    'libtraffic/intake/b.h' => "\n", 'libtraffic/intake/c.c' =>
    qq{#include "base/a.h"\n#include "intake/b.h"\n});
is(scalar @{ $t->{climbs} }, 1, 'a made-up climbing include is found')
    or diag(explain $t);
like($t->{climbs}[0] // '', qr{^libtraffic/base/a -> libtraffic/intake/b},
    'and named');
is_deeply($t->{cycle}, [], 'a tree without a loop has none');
is($t->{longest}[0], 'libtraffic/intake/c', 'the longest chain starts at'
    . ' the top');

# The real tree.
my ($rc, $out) = run_cmd([$layout, '--json']);
my $real = JSON::PP::decode_json($out);
cmp_ok(scalar @{ $real->{modules} }, '>=', 40, 'the modules of src/ are read');
is_deeply($real->{missing}, [], 'every #include "..." names a file of src/');
is_deeply($real->{cycle}, [], 'no include cycle between the modules of src/');
is_deeply($real->{climbs}, [], 'no include climbs a room');
# 14 before the helpers moved down into the basic rooms (num, text, item,
# utmfields, chats); a new upward include fails here.
cmp_ok(@{ $real->{longest} } - 1, '<=', 11, 'the longest chain of includes: '
    . join(' -> ', @{ $real->{longest} }));
my %rooms = map { m{^libtraffic/(\w+)/} ? ($1 => 1) : () }
    @{ $real->{modules} };
is(join(' ', sort keys %rooms), 'base db intake observe outgoing',
    'the core\'s rooms');
ok(!grep({ m{^libtraffic/[^/]+$} && $_ ne 'libtraffic/router' }
    @{ $real->{modules} }), 'every module of the core is in a room, but'
    . ' router on top');

# docs/layout.md's map names every module in its room, so it cannot go
# stale: a module added, moved or renamed fails here until the map says so.
my ($map) = slurp(srcdir() . '/docs/layout.md') =~ /^## Layout\n\n```\n(.*?)^```/ms;
my (%named, $room);
for my $line (split /\n/, $map // '') {
    $room = $1 if $line =~ m{^  (\w+)/ };
    $room = undef if $line =~ m{^  (router|statements/)|^\S};
    next unless defined $room;
    # the module names: the first column of the room's lines (indented by
    # four; deeper lines continue the text)
    my ($names) = $line =~ /^    ([a-z][a-z ]*?)(?:\s{2,}|$)/;
    $named{"libtraffic/$room/$_"} = 1 for split ' ', $names // '';
}
my @core = grep { m{^libtraffic/\w+/} } @{ $real->{modules} };
is(join(' ', grep { !$named{$_} } @core), '', 'docs/layout.md\'s map'
    . ' names every module of the core in its room');
is(join(' ', grep { my $m = $_; !grep { $_ eq $m } @core } sort keys %named),
    '', 'and no module that is not there');

# Every file of src/ says what it is in its first lines: a newcomer who
# opens any file knows which room they are in.
my @bare = grep { slurp($_) !~ m{\A/\*\n \* \S} }
    map { chomp; srcdir() . "/$_" }
    split /\n/, (run_cmd(['git', '-C', srcdir(), 'ls-files', 'src/*.c',
        'src/*.h']))[1];
is(join(' ', @bare), '', 'every file of src/ starts with what it is');

# libpq stays in db/: the store (the connection) and rows.c (a statement's
# rows, read by column name).  Every other file sees struct tr_rows only,
# and no file reads a row by a column number (88 such reads before).
my @c_files = split /\n/, (run_cmd(['git', '-C', srcdir(), 'ls-files',
    'src/*.c', 'src/*.h']))[1];
my @libpq = grep { slurp(srcdir() . "/$_") =~ /^#include <libpq-fe\.h>/m }
    @c_files;
is_deeply([sort @libpq], ['src/libtraffic/db/rows.c',
    'src/libtraffic/db/store.c'], 'libpq is included by db/store.c and'
    . ' db/rows.c alone');
my @pq_calls = grep { !m{^src/libtraffic/db/(?:rows|store)\.c:} }
    map { my $f = $_; my $n = 0; map { $n++; /\bPQ[a-z]+\(|PGresult/
        ? "$f:$n: $_" : () } split /\n/, slurp(srcdir() . "/$f") } @c_files;
is(join("\n", @pq_calls), '', 'nor called anywhere else');
my @positional = grep { /PQget(?:value|isnull)\([^,]+, [^,]+, [0-9]+\)/ }
    map { my $f = $_; my $n = 0; map { $n++; "$f:$n: $_" }
        split /\n/, slurp(srcdir() . "/$f") } @c_files;
is(join("\n", @positional), '', 'no row is read by a column number');

# The mutation list still names code that exists, once each: a restructure
# that moves code must move its mutations too.
my ($mrc, $mout) = run_cmd(['python3', srcdir() . '/scripts/mutate',
    '--check']);
is($mrc, 0, 'scripts/mutate --check: every mutation applies') or diag($mout);
done_testing();
