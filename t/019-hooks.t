# Unit tests of AmoCRM's webhook subscriptions judged (t/unit/test-hooks.c).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-hooks');
