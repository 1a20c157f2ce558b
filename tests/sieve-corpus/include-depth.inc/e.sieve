require "include";
include "f";
