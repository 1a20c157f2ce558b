require "include";
include :once "sub";
include :once "sub";
include :optional "missing";
