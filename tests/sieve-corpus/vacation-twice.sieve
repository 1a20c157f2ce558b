require "vacation";
vacation "One.";
vacation "Two.";
