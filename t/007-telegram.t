# Unit tests of libtraffic's telegram module (t/unit/test-telegram.c, TAP).
use strict;
use warnings;
use lib 't/lib';
use TrafficTest;

unit('test-telegram');
