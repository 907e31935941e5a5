# The shape of src/: no include cycle between modules (a module is a .c and
# its .h: admin.c including router.h while router.c includes admin.h is a
# cycle), and every #include "..." names a file that exists.  The cycle
# finder is tried on a made-up loop first, so a finder that finds nothing
# cannot pass.
use strict;
use warnings;
use File::Basename qw(dirname);
use File::Find;
use Test::More;
use lib 't/lib';
use TrafficTest;

my $src = srcdir() . '/src';

# The module of a path: src/libtraffic/store.c -> libtraffic/store.
sub module_of {
    my ($path) = @_;
    (my $m = $path) =~ s{^\Q$src\E/}{};
    $m =~ s/\.[ch]$//;
    return $m;
}

# { module => { module it includes => "file:line" } }
my (%deps, @missing);
find({ no_chdir => 1, wanted => sub {
    return unless /\.[ch]$/;
    my $file = $File::Find::name;
    my $m = module_of($file);
    open my $fh, '<', $file or die "$file: $!";
    while (my $line = <$fh>) {
        next unless $line =~ /^\s*#\s*include\s+"([^"]+)"/;
        my $inc = $1;
        # generated at build time from libtraffic/sql/*.sql
        next if $inc =~ m{^(libtraffic/)?sql\.h$};
        my ($hit) = grep { -f } (dirname($file) . "/$inc", "$src/$inc");
        if (!$hit) {
            push @missing, "$file:$.: $inc";
            next;
        }
        my $to = module_of($hit);
        $deps{$m}{$to} //= "$file:$." if $to ne $m;
    }
} }, $src);

# The first cycle of a graph, as a list of modules (empty: none).
sub find_cycle {
    my ($g) = @_;
    my (%state, @stack);
    my $visit;
    $visit = sub {
        my ($n) = @_;
        $state{$n} = 1;
        push @stack, $n;
        for my $to (sort keys %{ $g->{$n} || {} }) {
            if (($state{$to} // 0) == 1) {
                my ($at) = grep { $stack[$_] eq $to } 0 .. $#stack;
                return [@stack[$at .. $#stack], $to];
            }
            next if $state{$to};
            my $c = $visit->($to);
            return $c if @$c;
        }
        pop @stack;
        $state{$n} = 2;
        return [];
    };
    for my $n (sort keys %$g) {
        next if $state{$n};
        my $c = $visit->($n);
        return $c if @$c;
    }
    return [];
}

is_deeply(find_cycle({ a => { b => 1 }, b => { c => 1 }, c => { a => 1 } }),
    [qw(a b c a)], 'the cycle finder finds a made-up loop');
is_deeply(find_cycle({ a => { b => 1 }, b => { c => 1 }, a2 => { c => 1 } }),
    [], 'and nothing in a graph without one');
cmp_ok(scalar keys %deps, '>=', 20, 'the modules of src/ are read');
is_deeply(\@missing, [], 'every #include "..." names a file of src/');
my $cycle = find_cycle(\%deps);
is_deeply($cycle, [], 'no include cycle between the modules of src/')
    or diag(join("\n", map { "$cycle->[$_] -> $cycle->[$_ + 1] ("
        . $deps{ $cycle->[$_] }{ $cycle->[$_ + 1] } . ')' } 0 .. $#$cycle - 1));

# The layering, measured by scripts/layout (anyone can run it): the
# longest chain of includes between modules.  14 before the helpers moved
# down into the basic rooms (num, text, item); a new upward include fails
# here.
my ($lrc, $layout) = run_cmd([srcdir() . '/scripts/layout']);
is($lrc, 0, 'scripts/layout: no cycle, no missing include') or diag($layout);
my ($depth) = $layout =~ /the longest chain of includes is (\d+) deep/;
cmp_ok($depth // 99, '<=', 11, "the longest chain of includes: "
    . ($depth // '?') . ' deep') or diag($layout);

# The mutation list still names code that exists, once each: a restructure
# that moves code must move its mutations too.
my ($mrc, $mout) = run_cmd(['python3', srcdir() . '/scripts/mutate',
    '--check']);
is($mrc, 0, 'scripts/mutate --check: every mutation applies') or diag($mout);
done_testing();
