require "reject";
reject "I do not accept reports.";
