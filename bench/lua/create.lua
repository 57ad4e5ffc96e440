-- POST create with a unique displayName + version per request.
local counter = 0
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9))
request = function()
  counter = counter + 1
  local body = string.format('{"displayName":"bench %s %d","version":"1.0.0","sourceImageResourceId":"/subscriptions/0ac520ee-14c0-480f-b6c9-0a90c58ffff0/resourceGroups/rg/providers/Microsoft.Compute/images/bench"}', prefix, counter)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
