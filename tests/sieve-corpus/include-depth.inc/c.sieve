require "include";
include "d";
