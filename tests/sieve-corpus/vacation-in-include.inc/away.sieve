require "vacation";
vacation :days 2 "Included away.";
