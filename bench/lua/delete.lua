-- DELETE each filled image once, starting at the offset given as the first argument.
local next_n = 1
init = function(args) next_n = (tonumber(args[1]) or 0) + 1 end
request = function()
  local id = string.format("00000000-0000-4000-8000-%012x", next_n)
  next_n = next_n + 1
  return wrk.format("DELETE", wrk.path .. "/" .. id)
end
