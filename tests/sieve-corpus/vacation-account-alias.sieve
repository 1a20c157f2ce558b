require "vacation";
vacation "Alias reply from the account's own addresses.";
