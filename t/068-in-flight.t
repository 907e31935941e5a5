# A sale that changes while its Telegram message is in flight: the send
# held open by the fake Telegram (claimed, sending) while a price change,
# a reversal or a restoration arrives, then let go.  Each case ends with
# what the chat must show, computed from every Bot API call the fake saw
# (sends, then edits by message_id, replies by reply_parameters).  And a
# send slower than half its claim's lease, with a second sidecar (another
# host) looking for work meanwhile, is posted once.
use strict;
use warnings;
use utf8;
use Encode qw(decode);
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output);

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $chat = '-1006800000001';
my %env = (TELEGRAM_BOT_TOKEN => '6800:FLIGHT-token', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => $chat, TELEGRAM_CHAT_INTERVAL_MS => 0,
    TELEGRAM_GROUP_PER_MINUTE => 0, TELEGRAM_RETRY_BASE_MS => 1000,
    TELEGRAM_TIMEOUT_MS => 8000);
my $envfile = write_env(%env);
start_pool(workers => 3, env_file => $envfile);
start_nginx();
start_deliver(env_file => $envfile);

my $T = 1780000000;
sub event {
    my (%f) = @_;
    my $r = post_form('/webhook/amocrm/traffic', lead_form(
        pipeline_id => 10418746, utm_campaign => 'tripwire_x', %f));
    is($r->{status}, 200, "$f{event} of lead $f{id}: 200")
        or diag($r->{content});
    return decode_json($r->{content} || '{}');
}
sub q1 { decode('UTF-8', psql($_[0])) }
sub settled {
    my ($id) = @_;
    wait_for("lead ${id}'s messages settled", sub {
        psql("SELECT count(*) FROM notification_outbox WHERE lead_id = $id"
            . " AND (status = 'pending' OR lease_until IS NOT NULL)") == 0 },
        30);
}
sub held_now {
    my ($name) = @_;
    return wait_for("the send held ($name)",
        sub { (fake_held()->{$name} // 0) >= 1 }, 20);
}
sub in_flight {
    my ($id) = @_;
    return psql("SELECT count(*) FROM notification_outbox WHERE lead_id = $id"
        . " AND lease_until > now()");
}
# What the chat shows for lead $id, whose sale message says an amount
# matching $amounts (a pattern: the amounts it ever had): its text after
# every edit, the replies to it in the order they were posted, and how
# many times it was posted.
sub chat_shows {
    my ($id, $amounts) = @_;
    my $mid = psql("SELECT telegram_message_id FROM notification_outbox"
        . " WHERE lead_id = $id AND kind = 'sale'") || -1;
    my ($text, @replies, @posts);
    for my $req (fake_requests()) {
        my $j = $req->{json} || {};
        my $t = $j->{text} // '';
        if ($req->{path} =~ m{/sendMessage$}) {
            if ($j->{reply_parameters}) {
                push @replies, $t
                    if $j->{reply_parameters}{message_id} == $mid;
            } elsif ($t =~ /НОВАЯ ПРОДАЖА/ && $t =~ /Сумма: $amounts \x{20B8}/) {
                push @posts, $t;
            }
        } elsif ($req->{path} =~ m{/editMessageText$}
                 && ($j->{message_id} // -2) == $mid) {
            $text = $t;
        }
    }
    return { text => $text // $posts[-1] // '', replies => \@replies,
        sends => scalar @posts };
}

# 1. A new price while the sale's message is in flight: the chat ends with
# the new amount (the sent message edited once it has its message_id).
my $A = 68000001;
fake_queue('sendMessage', { hold => 'a' });
event(event => 'status', id => $A, name => "Lead $A", status_id => 142,
    price => 100000, updated_at => $T);
ok(held_now('a'), 'the sale\'s message is in flight');
is(in_flight($A), 1, 'claimed: its lease runs');
my $j = event(event => 'update', id => $A, name => "Lead $A", status_id => 142,
    price => 150000, updated_at => $T + 10);
is($j->{results}{processed}, 1, 'the new price taken meanwhile');
fake_release('a');
settled($A);
my $shows = chat_shows($A, qr/1[05]0,000/);
like($shows->{text}, qr/Сумма: 150,000 \x{20B8}/, 'the chat shows the new'
    . ' amount') or diag(explain $shows);
is($shows->{sends}, 1, 'posted once');
is(q1("SELECT trim_scale(sale_amount) FROM all_sales_tracking WHERE lead_id"
    . " = $A"), '150000', 'and the dashboard has it');

# 2. A reversal while the sale's message is in flight: once it is posted,
# a reply says the sale was cancelled.
my $B = 68000002;
fake_queue('sendMessage', { hold => 'b' });
event(event => 'status', id => $B, name => "Lead $B", status_id => 142,
    price => 200000, updated_at => $T);
ok(held_now('b'), 'the second sale\'s message is in flight');
event(event => 'status', id => $B, name => "Lead $B", status_id => 143,
    updated_at => $T + 10);
fake_release('b');
settled($B);
wait_for('the reversal reply', sub { @{ chat_shows($B, qr/200,000/)->{replies} } >= 1 },
    20);
$shows = chat_shows($B, qr/200,000/);
is(scalar @{ $shows->{replies} }, 1, 'one reply to the posted message')
    or diag(explain $shows);
like($shows->{replies}[0] // '', qr/Продажа отменена/, 'saying it was'
    . ' cancelled');
is(q1("SELECT count(*) FROM all_sales_tracking WHERE lead_id = $B"), 0,
    'out of the dashboard');

# 3. A restoration while the reversal's reply is in flight: both replies,
# in order, and the sale back.
my $C = 68000003;
event(event => 'status', id => $C, name => "Lead $C", status_id => 142,
    price => 300000, updated_at => $T);
settled($C);
fake_queue('sendMessage', { hold => 'c' });
event(event => 'status', id => $C, name => "Lead $C", status_id => 143,
    updated_at => $T + 10);
ok(held_now('c'), 'the reversal\'s reply is in flight');
event(event => 'status', id => $C, name => "Lead $C", status_id => 142,
    price => 300000, updated_at => $T + 20);
fake_release('c');
settled($C);
wait_for('both replies', sub { @{ chat_shows($C, qr/300,000/)->{replies} } >= 2 }, 20);
$shows = chat_shows($C, qr/300,000/);
is(join(' | ', map { /отменена/ ? 'cancelled' : /восстановлена/
    ? 'restored' : $_ } @{ $shows->{replies} }), 'cancelled | restored',
    'the chat shows the cancellation, then the restoration')
    or diag(explain $shows);
is(q1("SELECT count(*) FROM all_sales_tracking WHERE lead_id = $C"), 1,
    'back in the dashboard');

# 4. A slow send (4 s, within TELEGRAM_TIMEOUT_MS 8 s) with a second host's
# sidecar running: the claim's lease outlasts the send, so nobody claims
# the message again and it is posted once.
start_deliver(env_file => $envfile, log => 'deliver2.log');
my $D = 68000004;
fake_queue('sendMessage', { hold => 'd' });
event(event => 'status', id => $D, name => "Lead $D", status_id => 142,
    price => 400000, updated_at => $T);
ok(held_now('d'), 'the slow send is in flight');
sleep 4;     # longer than half the lease a short one would give
fake_release('d');
settled($D);
sleep 1.5;   # a second claim, had there been one, would have sent by now
is(chat_shows($D, qr/400,000/)->{sends}, 1, 'posted once, though two sidecars ran');
is(psql("SELECT count(*) FROM notification_outbox WHERE lead_id = $D AND"
    . " status = 'sent'"), 1, 'recorded sent once');
done_testing();
