# Every example body through nginx (the shipped snippet) and again through
# cgi-fcgi straight to the pool's socket, as an operator replays one.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use Test::More;
use TrafficTest;

start_pg();
migrate();
my $sock = start_pool(workers => 2);
start_nginx();

# expected results: total processed duplicates skipped ignored errors
my %first = (
    '01-status-142-full.txt'          => [1, 1, 0, 0, 0, 0],
    '02-status-142-short.txt'         => [1, 1, 0, 0, 0, 0],
    '03-update-142-cyrillic.txt'      => [1, 1, 0, 0, 0, 0],
    '04-status-skipped.txt'           => [2, 0, 0, 2, 0, 0],
    '05-update-and-status-same-lead.txt' => [2, 0, 2, 0, 0, 0],
    '06-contacts-update.txt'          => [1, 0, 0, 0, 1, 0],
);
my %again = (%first,
    '01-status-142-full.txt'     => [1, 0, 1, 0, 0, 0],
    '02-status-142-short.txt'    => [1, 0, 1, 0, 0, 0],
    '03-update-142-cyrillic.txt' => [1, 0, 1, 0, 0, 0],
);
my @keys = qw(total processed duplicates skipped ignored errors);

for my $name (sort keys %first) {
    my $r = http('POST', '/webhook/amocrm/traffic', example($name),
        'Content-Type' => 'application/x-www-form-urlencoded');
    is($r->{status}, 200, "nginx: $name: 200");
    my $j = eval { decode_json($r->{content}) } || {};
    is_deeply([@{ $j->{results} || {} }{@keys}], $first{$name},
        "nginx: $name: results");
}
for my $name (sort keys %again) {
    my $r = cgi_fcgi($sock, 'POST', '/webhook/amocrm/traffic', example($name));
    is($r->{status}, 200, "cgi-fcgi: $name: 200");
    my $j = eval { decode_json($r->{content}) } || {};
    is_deeply([@{ $j->{results} || {} }{@keys}], $again{$name},
        "cgi-fcgi: $name: results (sales now duplicates)");
}
is(psql('SELECT string_agg(lead_id || \':\' || targetologist, \',\' ORDER BY'
    . ' lead_id) FROM sales_notifications'),
    '25123456:Kenesary,25123457:Unknown,25123458:Muha',
    'three sales, each attributed');

# The same body as JSON (a saved tree) is a duplicate of the form one.
my $json = encode_json({ leads => { status => [{ id => '25123456',
    status_id => '142', pipeline_id => '10418746', price => '100000' }] } });
my $r = http('POST', '/webhook/amocrm/traffic', $json,
    'Content-Type' => 'application/json');
is($r->{status}, 200, 'JSON body accepted');
like($r->{content}, qr/"duplicates":1/, 'and recognised as the same sale');

# The test endpoint through cgi-fcgi, with a prefix nginx might add.
my $t = cgi_fcgi($sock, 'GET', '/crm/webhook/amocrm/traffic/test', '');
is($t->{status}, 200, 'test endpoint under a prefix');
like($t->{content}, qr/"endpoint":"\/webhook\/amocrm\/traffic"/, 'its JSON');
$t = cgi_fcgi($sock, 'POST', '/webhook/amocrm/traffic', 'a=1',
    CONTENT_TYPE => 'text/plain');
is($t->{status}, 415, 'wrong content type: 415');
$t = cgi_fcgi($sock, 'DELETE', '/webhook/amocrm/traffic', '');
is($t->{status}, 405, 'DELETE: 405');
is($t->{headers}{allow}, 'POST, HEAD', 'with Allow');
unlike(nginx_error_log(), qr/\[(alert|emerg|crit)\]/, 'no alert from nginx');
done_testing();
