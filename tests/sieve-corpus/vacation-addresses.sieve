require "vacation";
vacation :addresses ["me.alias@example.com"] "Alias reply.";
